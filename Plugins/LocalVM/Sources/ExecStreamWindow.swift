import FoundationEssentials
import Basics
import Glibc
import PluginKit

/// One output stream of a streamed command: its pipe and a bounded window of bytes read from it but
/// not yet acknowledged by the host. The pipe is read only while the window has room, so a host that
/// stops reading stops the command (it blocks on its full pipe) rather than growing this buffer.
final class ExecStreamWindow: @unchecked Sendable {
    // @unchecked: every mutable field is touched only with `lock` held.

    /// Most bytes held unacknowledged (also the most one read answers).
    static let capacity = ExecStreamLimits.maxReadBytes

    private let lock = Lock()
    private var fd: Int32
    /// Stream offset of `held`'s first byte.
    private var base: Int64 = 0
    private var held = Data()
    private var ended = false

    init(fd: Int32) { self.fd = fd }

    /// What a read answers: bytes at the requested offset, whether the stream ended after them.
    struct Chunk { var data: Data; var eof: Bool; var nextOffset: Int64 }

    /// Bytes from `offset` (acknowledging everything before it), waiting at most `waitMs` for the
    /// first one. `cancelFd` ends a wait early; `exitedLongAgo` tells that the command has ended and
    /// its drain grace has passed, so a pipe still held open by a background process counts as ended.
    func read(offset: Int64, maxBytes: Int, waitMs: Int, cancelFd: Int32,
              exitedLongAgo: () -> Bool) throws(PluginError) -> Chunk {
        lock.lock()
        defer { lock.unlock() }
        guard offset >= base, offset <= base + Int64(held.count) else {
            throw PluginError(.invalidRequest, "exec_read offset \(offset) is outside the window the plugin holds (\(base)…\(base + Int64(held.count))): offsets only move forward, to at most the end of what was answered.")
        }
        // A fresh buffer, not removeFirst: on Data that only slices, so the backing storage would keep
        // every byte ever read (the window must stay bounded, not just look bounded).
        let acknowledged = Int(offset - base)
        if acknowledged > 0 { held = acknowledged == held.count ? Data() : Data(held[(held.startIndex + acknowledged)...]) }
        base = offset
        if held.isEmpty, !ended {
            fill(waitMs: waitMs, cancelFd: cancelFd)
            if held.isEmpty, !ended, exitedLongAgo() { closePipe() }
        } else if held.count < maxBytes, !ended {
            fill(waitMs: 0, cancelFd: -1)
        }
        let limit = max(1, min(maxBytes, Self.capacity))
        let answer = held.prefix(limit)
        return Chunk(data: Data(answer), eof: ended && answer.count == held.count, nextOffset: offset + Int64(answer.count))
    }

    /// Closes the pipe (the handle is being released); a read in progress finishes first.
    func close() {
        lock.lock()
        defer { lock.unlock() }
        closePipe()
        held = Data()
    }

    /// Reads what the pipe has, up to the window's room; waits for readiness at most `waitMs`.
    private func fill(waitMs: Int, cancelFd: Int32) {
        guard fd >= 0 else { return }
        if waitMs > 0 {
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: cancelFd, events: Int16(POLLIN), revents: 0)]
            _ = poll(&fds, cancelFd >= 0 ? 2 : 1, Int32(min(waitMs, ExecStreamLimits.maxWaitMs)))
        }
        var chunk = [UInt8](repeating: 0, count: 256 << 10)
        while held.count < Self.capacity {
            let room = min(chunk.count, Self.capacity - held.count)
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, room) }
            if n > 0 { held.append(contentsOf: chunk[0..<n]); continue }
            if n == 0 { closePipe(); return }
            if errno == EINTR { continue }
            if errno != EAGAIN { closePipe() }
            return
        }
    }

    private func closePipe() {
        ended = true
        if fd >= 0 { Glibc.close(fd); fd = -1 }
    }
}
