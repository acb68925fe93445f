/// Repeated scalars and map entries. Parsers must accept a repeated scalar both packed (one
/// length-delimited field holding many values) and unpacked (one field per value), in any mix, so
/// each accessor returns the values this one field holds; the caller appends them.
extension ProtoField {
    /// Varint elements: `[x]` for an unpacked field, every varint of the payload for a packed one.
    public func varints() throws(ProtobufWireError) -> [UInt64] {
        switch value {
        case .varint(let raw):
            return [raw]
        case .lengthDelimited(let slice):
            var values: [UInt64] = []
            var position = slice.startIndex
            while position < slice.endIndex { values.append(try Varint.read(slice, at: &position)) }
            return values
        default:
            throw mismatch("a varint or a packed list of varints")
        }
    }

    /// `repeated uint64`.
    public func uint64s() throws(ProtobufWireError) -> [UInt64] { try varints() }
    /// `repeated int64`.
    public func int64s() throws(ProtobufWireError) -> [Int64] { try varints().map { Int64(bitPattern: $0) } }
    /// `repeated uint32`.
    public func uint32s() throws(ProtobufWireError) -> [UInt32] { try varints().map { UInt32(truncatingIfNeeded: $0) } }
    /// `repeated int32` and enums.
    public func int32s() throws(ProtobufWireError) -> [Int32] { try varints().map { Int32(truncatingIfNeeded: $0) } }
    /// `repeated sint32`.
    public func sint32s() throws(ProtobufWireError) -> [Int32] { try varints().map { Varint.unzigzag(UInt32(truncatingIfNeeded: $0)) } }
    /// `repeated sint64`.
    public func sint64s() throws(ProtobufWireError) -> [Int64] { try varints().map { Varint.unzigzag($0) } }
    /// `repeated bool`.
    public func bools() throws(ProtobufWireError) -> [Bool] { try varints().map { $0 != 0 } }

    /// `repeated fixed32`: one value, or a packed payload whose length is a multiple of 4.
    public func fixed32s() throws(ProtobufWireError) -> [UInt32] {
        switch value {
        case .fixed32(let raw):
            return [raw]
        case .lengthDelimited(let slice):
            return try fixedElements(slice, width: 4).map { UInt32(truncatingIfNeeded: $0) }
        default:
            throw mismatch("fixed32 or a packed list of fixed32")
        }
    }

    /// `repeated fixed64`: one value, or a packed payload whose length is a multiple of 8.
    public func fixed64s() throws(ProtobufWireError) -> [UInt64] {
        switch value {
        case .fixed64(let raw):
            return [raw]
        case .lengthDelimited(let slice):
            return try fixedElements(slice, width: 8)
        default:
            throw mismatch("fixed64 or a packed list of fixed64")
        }
    }

    /// `repeated sfixed32`.
    public func sfixed32s() throws(ProtobufWireError) -> [Int32] { try fixed32s().map { Int32(bitPattern: $0) } }
    /// `repeated sfixed64`.
    public func sfixed64s() throws(ProtobufWireError) -> [Int64] { try fixed64s().map { Int64(bitPattern: $0) } }
    /// `repeated float`.
    public func floats() throws(ProtobufWireError) -> [Float] { try fixed32s().map { Float(bitPattern: $0) } }
    /// `repeated double`.
    public func doubles() throws(ProtobufWireError) -> [Double] { try fixed64s().map { Double(bitPattern: $0) } }

    /// A map entry's key (field 1) and value (field 2), each nil when absent (the type's default).
    /// Later occurrences win, as for any singular field; other fields in the entry are skipped.
    public func mapEntry() throws(ProtobufWireError) -> (key: ProtoField?, value: ProtoField?) {
        var entry = try message()
        var key: ProtoField?
        var value: ProtoField?
        while let field = try entry.next() {
            switch field.number {
            case 1: key = field
            case 2: value = field
            default: break
            }
        }
        return (key, value)
    }

    /// A `map<string, string>` entry; an absent key or value is "".
    public func stringMapEntry() throws(ProtobufWireError) -> (key: String, value: String) {
        let entry = try mapEntry()
        return (try entry.key?.string() ?? "", try entry.value?.string() ?? "")
    }

    private func fixedElements(_ slice: ArraySlice<UInt8>, width: Int) throws(ProtobufWireError) -> [UInt64] {
        guard slice.count % width == 0 else {
            throw ProtobufWireError(code: .invalidPackedLength, message: "Field \(number) at byte \(offset) is a packed list of \(width)-byte values but holds \(slice.count) bytes.", offset: offset)
        }
        var values: [UInt64] = []
        values.reserveCapacity(slice.count / width)
        var position = slice.startIndex
        while position < slice.endIndex {
            values.append(UInt64(littleEndianFrom: slice[position..<position + width]))
            position += width
        }
        return values
    }
}
