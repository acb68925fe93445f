/// Splits a Connect stream (`application/connect+json`) into its envelopes: 1 flags byte (0x00
/// data, 0x02 end of stream, 0x01 compressed), a 4-byte big-endian length, then the payload.
struct ConnectFrameDecoder {
    struct Frame: Equatable {
        var flags: UInt8
        var payload: [UInt8]
        var isEndOfStream: Bool { flags & 0x02 != 0 }
    }

    enum Failure: Error, Equatable {
        /// An envelope longer than the limit.
        case tooLarge(Int)
        /// A compressed envelope (we never offer compression).
        case compressed
    }

    /// The largest payload accepted (envd's own message limit is 4 MiB).
    let maxPayload: Int
    private var buffer: [UInt8] = []
    private var offset = 0

    init(maxPayload: Int = 4 << 20) { self.maxPayload = maxPayload }

    /// Bytes received but not yet part of a whole envelope.
    var pendingBytes: Int { buffer.count - offset }

    /// Adds `chunk` and returns every envelope it completes.
    mutating func feed(_ chunk: UnsafeRawBufferPointer) throws(Failure) -> [Frame] {
        buffer.append(contentsOf: chunk)
        var frames: [Frame] = []
        while buffer.count - offset >= 5 {
            let flags = buffer[offset]
            let length = Int(buffer[offset + 1]) << 24 | Int(buffer[offset + 2]) << 16 | Int(buffer[offset + 3]) << 8 | Int(buffer[offset + 4])
            guard length <= maxPayload else { throw .tooLarge(length) }
            guard flags & 0x01 == 0 else { throw .compressed }
            guard buffer.count - offset - 5 >= length else { break }
            frames.append(Frame(flags: flags, payload: Array(buffer[(offset + 5)..<(offset + 5 + length)])))
            offset += 5 + length
        }
        // Drop consumed bytes once they dominate, so the buffer stays about one envelope long.
        if offset > 0 && offset * 2 >= buffer.count {
            buffer.removeFirst(offset)
            offset = 0
        }
        return frames
    }

    /// One envelope holding `payload`.
    static func envelope(_ payload: [UInt8], flags: UInt8 = 0) -> [UInt8] {
        let n = UInt32(payload.count)
        return [flags, UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)] + payload
    }
}
