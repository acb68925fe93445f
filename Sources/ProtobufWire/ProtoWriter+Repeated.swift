/// Repeated fields: packed scalars (proto3's default encoding), repeated strings and messages, maps.
///
/// An empty list writes nothing, as protobuf does: on the wire an empty repeated field is absent.
extension ProtoWriter {
    /// Packed varints: one length-delimited field holding every element's varint.
    public mutating func packedVarints(_ field: Int, _ values: some Collection<UInt64>) {
        guard !values.isEmpty else { return }
        var payload: [UInt8] = []
        payload.reserveCapacity(values.count)
        for value in values { Varint.append(value, to: &payload) }
        bytes(field, payload)
    }

    /// Packed `uint64`.
    public mutating func packedUInt64(_ field: Int, _ values: [UInt64]) { packedVarints(field, values) }
    /// Packed `uint32`.
    public mutating func packedUInt32(_ field: Int, _ values: [UInt32]) { packedVarints(field, values.lazy.map { UInt64($0) }) }
    /// Packed `int64`.
    public mutating func packedInt64(_ field: Int, _ values: [Int64]) { packedVarints(field, values.lazy.map { UInt64(bitPattern: $0) }) }
    /// Packed `int32` and enums (sign-extended).
    public mutating func packedInt32(_ field: Int, _ values: [Int32]) { packedVarints(field, values.lazy.map { UInt64(bitPattern: Int64($0)) }) }
    /// Packed `sint32`.
    public mutating func packedSInt32(_ field: Int, _ values: [Int32]) { packedVarints(field, values.lazy.map { UInt64(Varint.zigzag($0)) }) }
    /// Packed `sint64`.
    public mutating func packedSInt64(_ field: Int, _ values: [Int64]) { packedVarints(field, values.lazy.map { Varint.zigzag($0) }) }
    /// Packed `bool`.
    public mutating func packedBool(_ field: Int, _ values: [Bool]) { packedVarints(field, values.lazy.map { $0 ? 1 : 0 }) }

    /// Packed `fixed32` (also the bit patterns of `sfixed32` and `float`).
    public mutating func packedFixed32(_ field: Int, _ values: [UInt32]) {
        guard !values.isEmpty else { return }
        var payload = ProtoWriter()
        for value in values { payload.appendLittleEndian(value) }
        bytes(field, payload.bytes)
    }

    /// Packed `fixed64` (also the bit patterns of `sfixed64` and `double`).
    public mutating func packedFixed64(_ field: Int, _ values: [UInt64]) {
        guard !values.isEmpty else { return }
        var payload = ProtoWriter()
        for value in values { payload.appendLittleEndian(value) }
        bytes(field, payload.bytes)
    }

    /// Packed `float`.
    public mutating func packedFloat(_ field: Int, _ values: [Float]) { packedFixed32(field, values.map(\.bitPattern)) }
    /// Packed `double`.
    public mutating func packedDouble(_ field: Int, _ values: [Double]) { packedFixed64(field, values.map(\.bitPattern)) }

    /// `repeated string`: one field per element (strings are never packed).
    public mutating func strings(_ field: Int, _ values: [String]) {
        for value in values { string(field, value) }
    }

    /// `repeated` messages: one field per element.
    public mutating func messages<M: ProtoMessage>(_ field: Int, _ values: [M]) {
        for value in values { message(field, value) }
    }

    /// One map entry: a nested message with the key as field 1 and the value as field 2.
    public mutating func mapEntry(_ field: Int, key: (inout ProtoWriter) -> Void, value: (inout ProtoWriter) -> Void) {
        message(field) { entry in key(&entry); value(&entry) }
    }

    /// `map<string, string>`, entries in key order so equal maps encode to equal bytes.
    public mutating func stringMap(_ field: Int, _ map: [String: String]) {
        for key in map.keys.sorted() {
            mapEntry(field, key: { $0.string(1, key) }, value: { $0.string(2, map[key] ?? "") })
        }
    }
}
