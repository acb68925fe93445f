/// Walks the fields of one protobuf message in wire order.
///
/// `next()` reads a whole field (tag and value) and checks it against the bytes that remain, so
/// a caller that ignores a field number has already skipped it, whatever its wire type. Nothing
/// is allocated from a length read off the wire: lengths are checked against the remaining bytes
/// first and values are slices of the input. Groups (wire types 3 and 4) are refused.
///
/// ```swift
/// var reader = ProtoReader(bytes)
/// while let field = try reader.next() {
///     switch field.number {
///     case 1: sandboxID = try field.string()
///     default: break            // unknown: already skipped
///     }
/// }
/// ```
public struct ProtoReader: Sendable {
    /// How deep messages may nest by default (the outermost message is depth 0).
    public static let defaultMaxDepth = 64

    /// The bytes of this message; indices are offsets in the outermost input.
    let bytes: ArraySlice<UInt8>
    private(set) var position: Int
    /// This message's nesting depth.
    public let depth: Int
    /// The deepest nesting `ProtoField.message()` will open.
    public let maxDepth: Int

    /// A reader over a whole serialized message.
    public init(_ bytes: [UInt8], maxDepth: Int = ProtoReader.defaultMaxDepth) {
        self.init(slice: bytes[...], depth: 0, maxDepth: maxDepth)
    }

    init(slice: ArraySlice<UInt8>, depth: Int, maxDepth: Int) {
        self.bytes = slice
        self.position = slice.startIndex
        self.depth = depth
        self.maxDepth = maxDepth
    }

    /// Whether every field has been read.
    public var isAtEnd: Bool { position >= bytes.endIndex }

    /// The next field, or nil at the end of the message.
    public mutating func next() throws(ProtobufWireError) -> ProtoField? {
        guard position < bytes.endIndex else { return nil }
        let start = position
        let key = try Varint.read(bytes, at: &position)
        guard key <= UInt64(UInt32.max) else {
            throw ProtobufWireError(code: .invalidFieldNumber, message: "The tag at byte \(start) names a field number above \(WireType.maxFieldNumber).", offset: start)
        }
        let number = Int(key >> 3)
        guard number >= 1 else {
            throw ProtobufWireError(code: .invalidFieldNumber, message: "The tag at byte \(start) names field number 0, which is not allowed.", offset: start)
        }
        let rawType = UInt8(key & 7)
        guard let wireType = WireType(rawValue: rawType) else {
            throw ProtobufWireError(code: .invalidWireType, message: "Field \(number) at byte \(start) has wire type \(rawType), which does not exist.", offset: start)
        }
        let value: ProtoField.Value
        switch wireType {
        case .varint:
            value = .varint(try Varint.read(bytes, at: &position))
        case .fixed64:
            value = .fixed64(UInt64(littleEndianFrom: try take(8, field: number, start: start)))
        case .fixed32:
            value = .fixed32(UInt32(truncatingIfNeeded: UInt64(littleEndianFrom: try take(4, field: number, start: start))))
        case .lengthDelimited:
            let lengthAt = position
            let length = try Varint.read(bytes, at: &position)
            let remaining = bytes.endIndex - position
            guard length <= UInt64(remaining) else {
                throw ProtobufWireError(code: .lengthOutOfBounds, message: "Field \(number) at byte \(start) claims \(length) bytes but only \(remaining) remain in its message.", offset: lengthAt)
            }
            value = .lengthDelimited(try take(Int(length), field: number, start: start))
        case .startGroup, .endGroup:
            throw ProtobufWireError(code: .groupRefused, message: "Field \(number) at byte \(start) uses the \(wireType) wire type; groups are not supported.", offset: start)
        }
        return ProtoField(number: number, wireType: wireType, value: value, offset: start, depth: depth, maxDepth: maxDepth)
    }

    /// The next `count` bytes as a slice (no copy), or `.truncated`.
    private mutating func take(_ count: Int, field: Int, start: Int) throws(ProtobufWireError) -> ArraySlice<UInt8> {
        guard bytes.endIndex - position >= count else {
            throw ProtobufWireError(code: .truncated, message: "The input ends inside field \(field), which starts at byte \(start).", offset: start)
        }
        defer { position += count }
        return bytes[position..<position + count]
    }
}

extension UInt64 {
    /// Up to 8 little-endian bytes.
    init(littleEndianFrom bytes: ArraySlice<UInt8>) {
        var value: UInt64 = 0
        for (index, byte) in bytes.enumerated() { value |= UInt64(byte) << (8 * UInt64(index)) }
        self = value
    }
}
