import Foundation
import PluginKit

/// One frame of the node helper's binary streams: `[type u8][len u32 big-endian][payload]`
/// (docs/backends/byok-node-protocol.md). Payloads are at most 64 KiB.
struct Frame: Sendable, Equatable {
    var type: UInt8
    var payload: Data

    static let maxPayload = 65536
    // Controller → helper (exec's stdin).
    static let stdinBytes: UInt8 = 1
    static let stdinEnd: UInt8 = 2
    // Helper → controller (exec's and snapshot's stdout).
    static let stdout: UInt8 = 1
    static let stderr: UInt8 = 2
    static let status: UInt8 = 3

    /// The bytes of this frame.
    var encoded: Data {
        var d = Data([type])
        let n = UInt32(payload.count)
        d.append(contentsOf: [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)])
        d.append(payload)
        return d
    }

    /// Standard input as frames: the bytes in chunks of at most 64 KiB, then the end frame.
    static func stdinStream(_ bytes: Data) -> Data {
        var out = Data()
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            let end = min(offset + maxPayload, bytes.endIndex)
            out.append(Frame(type: stdinBytes, payload: bytes[offset..<end]).encoded)
            offset = end
        }
        out.append(Frame(type: stdinEnd, payload: Data()).encoded)
        return out
    }
}

/// Splits a byte stream into frames as bytes arrive; refuses an oversized or unknown frame.
struct FrameDecoder: Sendable {
    private var buffer = Data()
    /// True once the status frame arrived: nothing may follow it.
    private(set) var finished = false

    /// Feeds bytes; returns the complete frames among them.
    mutating func push(_ bytes: Data) throws(PluginError) -> [Frame] {
        buffer.append(bytes)
        var frames: [Frame] = []
        while buffer.count >= 5 {
            let b = buffer.startIndex
            let type = buffer[b]
            let len = Int(buffer[b + 1]) << 24 | Int(buffer[b + 2]) << 16 | Int(buffer[b + 3]) << 8 | Int(buffer[b + 4])
            guard (1...3).contains(type), len <= Frame.maxPayload else {
                throw PluginError(.internal, "The node helper sent a malformed frame (type \(type), length \(len)).")
            }
            guard !finished else {
                throw PluginError(.internal, "The node helper sent data after its status frame.")
            }
            guard buffer.count >= 5 + len else { break }
            frames.append(Frame(type: type, payload: Data(buffer[(b + 5)..<(b + 5 + len)])))
            buffer = Data(buffer[(b + 5 + len)...])
            if type == Frame.status { finished = true }
        }
        return frames
    }

    /// Bytes received that do not yet make a whole frame.
    var pending: Int { buffer.count }
}
