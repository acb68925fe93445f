/// gRPC's length-prefixed message framing: a compressed-flag byte, a 4-byte big-endian length,
/// then the message bytes.
public enum GRPCFrame {
    /// The flag byte and the length.
    public static let headerLength = 5

    /// One uncompressed frame holding `message` (at most 4 GiB - 1 bytes, the prefix's limit;
    /// the client refuses anything above its configured cap long before that).
    public static func encode(_ message: [UInt8]) -> [UInt8] {
        precondition(UInt64(message.count) <= UInt64(UInt32.max), "a gRPC message must be shorter than 4 GiB")
        let length = UInt32(message.count)
        var frame: [UInt8] = [0, UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
        frame.reserveCapacity(headerLength + message.count)
        frame.append(contentsOf: message)
        return frame
    }
}
