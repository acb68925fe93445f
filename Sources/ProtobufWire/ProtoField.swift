/// One field read by `ProtoReader`: its number, wire type and raw value, with typed accessors.
///
/// An accessor throws `.wrongWireType` when the field's wire type cannot hold the asked type, so
/// a peer that changed a field's type is noticed instead of misread.
public struct ProtoField: Sendable {
    /// A raw value as it was on the wire.
    public enum Value: Sendable, Equatable {
        case varint(UInt64)
        case fixed64(UInt64)
        case fixed32(UInt32)
        /// A slice of the input: indices are offsets in the outermost message.
        case lengthDelimited(ArraySlice<UInt8>)
    }

    public let number: Int
    public let wireType: WireType
    public let value: Value
    /// Where the field's tag starts in the outermost input.
    public let offset: Int
    let depth: Int
    let maxDepth: Int

    // MARK: varints

    /// `uint64` (or any varint's raw 64 bits).
    public func uint64() throws(ProtobufWireError) -> UInt64 {
        guard case .varint(let raw) = value else { throw mismatch("a varint") }
        return raw
    }

    /// `int64`: the 64 bits as two's complement.
    public func int64() throws(ProtobufWireError) -> Int64 { Int64(bitPattern: try uint64()) }

    /// `uint32`: the low 32 bits, as protobuf parsers read it.
    public func uint32() throws(ProtobufWireError) -> UInt32 { UInt32(truncatingIfNeeded: try uint64()) }

    /// `int32` and enums: the low 32 bits, so a sign-extended negative comes back whole.
    public func int32() throws(ProtobufWireError) -> Int32 { Int32(truncatingIfNeeded: try uint64()) }

    /// `sint32`: zigzag over the low 32 bits.
    public func sint32() throws(ProtobufWireError) -> Int32 { Varint.unzigzag(UInt32(truncatingIfNeeded: try uint64())) }

    /// `sint64`: zigzag.
    public func sint64() throws(ProtobufWireError) -> Int64 { Varint.unzigzag(try uint64()) }

    /// `bool`: any non-zero varint is true.
    public func bool() throws(ProtobufWireError) -> Bool { try uint64() != 0 }

    // MARK: fixed width

    /// `fixed32`.
    public func fixed32() throws(ProtobufWireError) -> UInt32 {
        guard case .fixed32(let raw) = value else { throw mismatch("fixed32") }
        return raw
    }

    /// `fixed64`.
    public func fixed64() throws(ProtobufWireError) -> UInt64 {
        guard case .fixed64(let raw) = value else { throw mismatch("fixed64") }
        return raw
    }

    /// `sfixed32`.
    public func sfixed32() throws(ProtobufWireError) -> Int32 { Int32(bitPattern: try fixed32()) }
    /// `sfixed64`.
    public func sfixed64() throws(ProtobufWireError) -> Int64 { Int64(bitPattern: try fixed64()) }
    /// `float`.
    public func float() throws(ProtobufWireError) -> Float { Float(bitPattern: try fixed32()) }
    /// `double`.
    public func double() throws(ProtobufWireError) -> Double { Double(bitPattern: try fixed64()) }

    // MARK: length-delimited

    /// The payload of a length-delimited field, as a slice of the input (no copy).
    public func payload() throws(ProtobufWireError) -> ArraySlice<UInt8> {
        guard case .lengthDelimited(let slice) = value else { throw mismatch("length-delimited") }
        return slice
    }

    /// `bytes`: a copy of the payload (no larger than the input).
    public func bytes() throws(ProtobufWireError) -> [UInt8] { Array(try payload()) }

    /// `string`: the payload, which must be valid UTF-8.
    public func string() throws(ProtobufWireError) -> String {
        let slice = try payload()
        guard let text = String(validating: slice, as: UTF8.self) else {
            throw ProtobufWireError(code: .invalidUTF8, message: "Field \(number) at byte \(offset) is a string that is not valid UTF-8.", offset: offset)
        }
        return text
    }

    /// A reader over a nested message, one level deeper; refused past the reader's depth limit.
    public func message() throws(ProtobufWireError) -> ProtoReader {
        let slice = try payload()
        guard depth + 1 <= maxDepth else {
            throw ProtobufWireError(code: .tooDeep, message: "Field \(number) at byte \(offset) nests messages deeper than the limit of \(maxDepth).", offset: offset)
        }
        return ProtoReader(slice: slice, depth: depth + 1, maxDepth: maxDepth)
    }

    /// A nested message decoded as `M`.
    public func message<M: ProtoMessage>(as type: M.Type = M.self) throws(ProtobufWireError) -> M {
        var reader = try message()
        return try M(from: &reader)
    }

    func mismatch(_ expected: String) -> ProtobufWireError {
        ProtobufWireError(code: .wrongWireType, message: "Field \(number) at byte \(offset) has wire type \(wireType) where \(expected) was expected.", offset: offset)
    }
}
