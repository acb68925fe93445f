/// Base-128 varints and zigzag, the two integer encodings of the protobuf wire format.
public enum Varint {
    /// The longest varint: 64 bits in 7-bit groups.
    public static let maxLength = 10

    /// Appends `value` as a varint (1 to 10 bytes).
    public static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// How many bytes `append` writes for `value`.
    public static func encodedLength(_ value: UInt64) -> Int {
        var length = 1
        var rest = value >> 7
        while rest != 0 { length += 1; rest >>= 7 }
        return length
    }

    /// Zigzag maps signed to unsigned so small magnitudes stay short: 0, -1, 1, -2 → 0, 1, 2, 3.
    public static func zigzag(_ value: Int32) -> UInt32 {
        UInt32(bitPattern: (value << 1) ^ (value >> 31))
    }

    public static func zigzag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    /// Inverts `zigzag`.
    public static func unzigzag(_ value: UInt32) -> Int32 {
        Int32(bitPattern: value >> 1) ^ -Int32(bitPattern: value & 1)
    }

    public static func unzigzag(_ value: UInt64) -> Int64 {
        Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1)
    }

    /// Reads one varint from `bytes` at `position`, advancing it; strict about length and overflow.
    static func read(_ bytes: ArraySlice<UInt8>, at position: inout Int) throws(ProtobufWireError) -> UInt64 {
        let start = position
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.endIndex else {
                throw ProtobufWireError(code: .truncated, message: "The input ends inside the varint that starts at byte \(start).", offset: start)
            }
            let byte = bytes[position]
            position += 1
            if shift == 63 {
                // The 10th byte must end the varint and hold bit 63 only; more would silently lose bits.
                if byte & 0x80 != 0 {
                    throw ProtobufWireError(code: .overlongVarint, message: "The varint that starts at byte \(start) is longer than \(maxLength) bytes.", offset: start)
                }
                if byte > 1 {
                    throw ProtobufWireError(code: .overlongVarint, message: "The varint that starts at byte \(start) carries more than 64 bits.", offset: start)
                }
            }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }
}
