/// Builds protobuf wire bytes field by field, in the order the calls are made.
///
/// Every call writes its field, defaults included: proto3 leaves out zero values of plain
/// fields, so a message type decides which fields to skip (and writes `optional` ones when set).
/// Field numbers are constants of the message code; one outside 1...2^29-1 is a programming error.
public struct ProtoWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// Appends a tag: the field number and wire type in one varint.
    public mutating func tag(_ field: Int, _ wireType: WireType) {
        precondition(field >= 1 && field <= WireType.maxFieldNumber, "protobuf field numbers are 1...2^29-1, not \(field)")
        Varint.append(UInt64(field) << 3 | UInt64(wireType.rawValue), to: &bytes)
    }

    // MARK: varints

    /// `uint64` (also the raw varint of any varint field).
    public mutating func uint64(_ field: Int, _ value: UInt64) {
        tag(field, .varint); Varint.append(value, to: &bytes)
    }

    /// `uint32`.
    public mutating func uint32(_ field: Int, _ value: UInt32) { uint64(field, UInt64(value)) }

    /// `int64`: two's complement, so a negative value takes 10 bytes.
    public mutating func int64(_ field: Int, _ value: Int64) { uint64(field, UInt64(bitPattern: value)) }

    /// `int32` and enums: sign-extended to 64 bits, so a negative value also takes 10 bytes.
    public mutating func int32(_ field: Int, _ value: Int32) { int64(field, Int64(value)) }

    /// `sint32`: zigzag.
    public mutating func sint32(_ field: Int, _ value: Int32) { uint64(field, UInt64(Varint.zigzag(value))) }

    /// `sint64`: zigzag.
    public mutating func sint64(_ field: Int, _ value: Int64) { uint64(field, Varint.zigzag(value)) }

    /// `bool`: one byte, 0 or 1.
    public mutating func bool(_ field: Int, _ value: Bool) { uint64(field, value ? 1 : 0) }

    // MARK: fixed width (little-endian)

    /// `fixed32`.
    public mutating func fixed32(_ field: Int, _ value: UInt32) {
        tag(field, .fixed32); appendLittleEndian(value)
    }

    /// `fixed64`.
    public mutating func fixed64(_ field: Int, _ value: UInt64) {
        tag(field, .fixed64); appendLittleEndian(value)
    }

    /// `sfixed32`.
    public mutating func sfixed32(_ field: Int, _ value: Int32) { fixed32(field, UInt32(bitPattern: value)) }

    /// `sfixed64`.
    public mutating func sfixed64(_ field: Int, _ value: Int64) { fixed64(field, UInt64(bitPattern: value)) }

    /// `float`: IEEE 754 single precision.
    public mutating func float(_ field: Int, _ value: Float) { fixed32(field, value.bitPattern) }

    /// `double`: IEEE 754 double precision.
    public mutating func double(_ field: Int, _ value: Double) { fixed64(field, value.bitPattern) }

    // MARK: length-delimited

    /// `bytes`.
    public mutating func bytes(_ field: Int, _ value: some Collection<UInt8>) {
        tag(field, .lengthDelimited)
        Varint.append(UInt64(value.count), to: &bytes)
        bytes.append(contentsOf: value)
    }

    /// `string`: its UTF-8 bytes.
    public mutating func string(_ field: Int, _ value: String) { bytes(field, Array(value.utf8)) }

    /// A nested message built by `build` (an empty one is still written: presence is meaningful).
    public mutating func message(_ field: Int, _ build: (inout ProtoWriter) -> Void) {
        var nested = ProtoWriter()
        build(&nested)
        bytes(field, nested.bytes)
    }

    /// A nested message value.
    public mutating func message(_ field: Int, _ value: some ProtoMessage) {
        message(field) { value.encode(to: &$0) }
    }

    // MARK: helpers

    mutating func appendLittleEndian(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    mutating func appendLittleEndian(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }
}
