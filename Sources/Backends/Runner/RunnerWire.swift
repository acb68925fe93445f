import FoundationEssentials
import Glibc

/// The framing between host and plugin runner: `[u32 length][u32 header length][header JSON][payload]`,
/// big-endian lengths, the first counting everything after itself. One gathered write per frame.
enum RunnerWire {
    /// The protocol version both sides put in the hello.
    static let version = 1
    /// Bytes of a frame's JSON header, at most (a log line's text and metadata are 4 KiB each).
    static let maxHeaderBytes = 64 << 10

    /// Why a frame could not be read or written.
    struct Failure: Error, Sendable, CustomStringConvertible {
        var description: String
        /// The peer went away mid-frame (it died): not a protocol breach.
        var peerGone = false
        init(_ description: String, peerGone: Bool = false) {
            self.description = description
            self.peerGone = peerGone
        }
    }

    /// Writes one frame with a single `sendmsg` (a gathered write) (looping only on a short write). Callers serialize writes.
    static func write(fd: Int32, _ header: RunnerHeader, payload: Data = Data()) throws(Failure) {
        let json: Data
        do { json = try JSONEncoder().encode(header) } catch { throw Failure("cannot encode a frame header: \(error)") }
        var prefix = [UInt8](repeating: 0, count: 8)
        store(UInt32(4 + json.count + payload.count), into: &prefix, at: 0)
        store(UInt32(json.count), into: &prefix, at: 4)
        let failure: Failure? = prefix.withUnsafeBytes { p in
            json.withUnsafeBytes { j in
                payload.withUnsafeBytes { b in
                    var parts = [UnsafeRawBufferPointer(p), UnsafeRawBufferPointer(j), UnsafeRawBufferPointer(b)]
                    do throws(Failure) { try writeAll(fd: fd, &parts) } catch { return error }
                    return nil
                }
            }
        }
        if let failure { throw failure }
    }

    /// Gathered writes until every part is written (a socketpair may take a large frame in several goes).
    static func writeAll(fd: Int32, _ parts: inout [UnsafeRawBufferPointer]) throws(Failure) {
        parts.removeAll { $0.isEmpty }
        while !parts.isEmpty {
            var vecs = parts.map { iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count) }
            // sendmsg, not writev: MSG_NOSIGNAL turns a write to a dead peer into EPIPE, not SIGPIPE.
            let n = vecs.withUnsafeMutableBufferPointer { v in
                var message = msghdr()
                message.msg_iov = v.baseAddress
                message.msg_iovlen = v.count
                return sendmsg(fd, &message, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure("write failed: \(String(cString: strerror(errno)))")
            }
            var left = n
            while left > 0, let first = parts.first {
                if left >= first.count {
                    left -= first.count
                    parts.removeFirst()
                } else {
                    parts[0] = UnsafeRawBufferPointer(rebasing: first[left...])
                    left = 0
                }
            }
            parts.removeAll { $0.isEmpty }
        }
    }

    static func store(_ value: UInt32, into bytes: inout [UInt8], at offset: Int) {
        bytes[offset] = UInt8(value >> 24)
        bytes[offset + 1] = UInt8((value >> 16) & 0xff)
        bytes[offset + 2] = UInt8((value >> 8) & 0xff)
        bytes[offset + 3] = UInt8(value & 0xff)
    }
}

/// Reads frames from one descriptor, refusing any frame above `maxFrameBytes`.
///
/// One malloc'd buffer, read into directly and compacted with memmove: no per-read allocation or
/// zero-filling (a per-read `[UInt8]` append of 64 KiB cost milliseconds a call in debug builds).
final class RunnerFrameReader: @unchecked Sendable {
    // @unchecked: used by one thread at a time (the starter reads the hello, then hands it over).
    let fd: Int32
    let maxFrameBytes: Int
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    /// Unread bytes are `storage[start..<end]`.
    private var start = 0
    private var end = 0
    private let decoder = JSONDecoder()

    init(fd: Int32, maxFrameBytes: Int) {
        self.fd = fd
        self.maxFrameBytes = maxFrameBytes
        self.capacity = 64 << 10
        self.storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
    }

    deinit { storage.deallocate() }

    /// The next frame, or nil at a clean end of stream (between frames).
    func next() throws(RunnerWire.Failure) -> (header: RunnerHeader, payload: Data)? {
        guard try fill(4) else { return nil }
        let length = Int(load(start))
        guard length >= 4, length <= maxFrameBytes else {
            throw RunnerWire.Failure("a frame of \(length) bytes is outside the allowed 4–\(maxFrameBytes) bytes")
        }
        guard try fill(4 + length) else { throw RunnerWire.Failure("the stream ended inside a frame", peerGone: true) }
        let headerLength = Int(load(start + 4))
        guard headerLength <= min(length - 4, RunnerWire.maxHeaderBytes) else {
            throw RunnerWire.Failure("a frame header of \(headerLength) bytes does not fit its frame or the \(RunnerWire.maxHeaderBytes)-byte cap")
        }
        let headerStart = start + 8
        let payloadStart = headerStart + headerLength
        let frameEnd = start + 4 + length
        let header: RunnerHeader
        do {
            header = try decoder.decode(RunnerHeader.self, from: Data(bytes: storage + headerStart, count: headerLength))
        } catch {
            throw RunnerWire.Failure("a frame header is not valid JSON for this protocol")
        }
        let payload = Data(bytes: storage + payloadStart, count: frameEnd - payloadStart)
        start = frameEnd
        if start == end { start = 0; end = 0 }
        return (header, payload)
    }

    /// Ensures `count` unread bytes are buffered; false at end of stream before any of them arrived.
    private func fill(_ count: Int) throws(RunnerWire.Failure) -> Bool {
        guard end - start < count else { return true }
        if start + count > capacity {
            // Move the unread bytes to the front; grow when even that is too small.
            let unread = end - start
            if count > capacity {
                var grown = capacity
                while grown < count { grown *= 2 }
                let bigger = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 8)
                bigger.copyMemory(from: storage + start, byteCount: unread)
                storage.deallocate()
                storage = bigger
                capacity = grown
            } else {
                memmove(storage, storage + start, unread)
            }
            start = 0
            end = unread
        }
        while end - start < count {
            let n = read(fd, storage + end, capacity - end)
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                // A peer that dies with our bytes unread resets the stream: that is its end, not a breach.
                throw RunnerWire.Failure("read failed: \(String(cString: strerror(code)))", peerGone: code == ECONNRESET)
            }
            if n == 0 {
                if end == start { return false }
                throw RunnerWire.Failure("the stream ended inside a frame", peerGone: true)
            }
            end += n
        }
        return true
    }

    private func load(_ offset: Int) -> UInt32 {
        let p = storage.assumingMemoryBound(to: UInt8.self) + offset
        return UInt32(p[0]) << 24 | UInt32(p[1]) << 16 | UInt32(p[2]) << 8 | UInt32(p[3])
    }
}
