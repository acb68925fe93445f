import CLocalVM
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
    /// The smallest buffer allocated: one page's worth, grown by doubling up to `capacity`.
    static let minimumBuffer = 4096

    private let lock = Lock()
    private var fd: Int32
    /// Stream offset of the first held byte.
    private var base: Int64 = 0
    /// The held bytes are `buffer[start ..< start + count]`. The buffer is allocated only once the
    /// pipe has bytes (a command that prints nothing allocates nothing), sized to what the pipe holds,
    /// and kept for the window's life: the kernel writes into it directly, so no byte is zero-filled
    /// or copied on its way in (a fresh zeroed 256 KiB array per fill was a quarter of an exec's page
    /// faults, and its munmap a TLB shootdown: docs/performance.md, "LocalVM streamed exec (session 9)").
    private var buffer: UnsafeMutableRawPointer?
    private var bufferCapacity = 0
    private var start = 0
    private var count = 0
    private var ended = false

    init(fd: Int32) { self.fd = fd }

    deinit { free(buffer) }

    /// What a read answers: bytes at the requested offset, whether the stream ended after them.
    struct Chunk { var data: Data; var eof: Bool; var nextOffset: Int64 }

    /// Bytes from `offset` (acknowledging everything before it), waiting at most `waitMs` for the
    /// first one. `cancelFd` ends a wait early; `exitedLongAgo` tells that the command has ended and
    /// its drain grace has passed, so a pipe still held open by a background process counts as ended.
    func read(offset: Int64, maxBytes: Int, waitMs: Int, cancelFd: Int32,
              exitedLongAgo: () -> Bool) throws(PluginError) -> Chunk {
        lock.lock()
        defer { lock.unlock() }
        guard offset >= base, offset <= base + Int64(count) else {
            throw PluginError(.invalidRequest, "exec_read offset \(offset) is outside the window the plugin holds (\(base)…\(base + Int64(count))): offsets only move forward, to at most the end of what was answered.")
        }
        let acknowledged = Int(offset - base)
        start += acknowledged
        count -= acknowledged
        if count == 0 { start = 0 }
        base = offset
        if count == 0, !ended {
            fill(waitMs: waitMs, cancelFd: cancelFd)
            if count == 0, !ended, exitedLongAgo() { closePipe() }
        } else if count < maxBytes, !ended {
            fill(waitMs: 0, cancelFd: -1)
        }
        let answer = min(count, max(1, min(maxBytes, Self.capacity)))
        var data = Data()
        if answer > 0, let buffer { data = Data(bytes: buffer + start, count: answer) }
        return Chunk(data: data, eof: ended && answer == count, nextOffset: offset + Int64(answer))
    }

    /// Closes the pipe (the handle is being released); a read in progress finishes first.
    func close() {
        lock.lock()
        defer { lock.unlock() }
        closePipe()
        free(buffer)
        buffer = nil
        bufferCapacity = 0
        start = 0
        count = 0
    }

    /// Reads what the pipe has, up to the window's room; waits for readiness at most `waitMs`.
    private func fill(waitMs: Int, cancelFd: Int32) {
        guard fd >= 0 else { return }
        if waitMs > 0 {
            var fds = (pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: cancelFd, events: Int16(POLLIN), revents: 0))
            _ = withUnsafeMutableBytes(of: &fds) { raw in
                poll(raw.baseAddress!.assumingMemoryBound(to: pollfd.self), cancelFd >= 0 ? 2 : 1,
                     Int32(min(waitMs, ExecStreamLimits.maxWaitMs)))
            }
        }
        while count < Self.capacity {
            // What the pipe holds now (FIONREAD): the buffer grows to that, not to the window's size.
            let available = Int(clvm_fd_available(fd))
            if available <= 0 {
                // Nothing buffered: one byte tells end of file from "not yet" (and takes a byte that
                // arrived meanwhile) without allocating anything.
                var byte: UInt8 = 0
                let n = Glibc.read(fd, &byte, 1)
                if n == 1 { append(byte); continue }
                if n == 0 { closePipe(); return }
                if errno == EINTR { continue }
                if errno != EAGAIN { closePipe() }
                return
            }
            let room = reserve(min(available, Self.capacity - count))
            guard room > 0, let buffer else { return }  // no memory for more: keep what is held
            let n = Glibc.read(fd, buffer + start + count, room)
            if n > 0 { count += n; continue }
            if n == 0 { closePipe(); return }
            if errno == EINTR { continue }
            if errno != EAGAIN { closePipe() }
            return
        }
    }

    /// Makes room for `wanted` more bytes after the held ones (moving them to the front, or growing
    /// the buffer by doubling, at most to `capacity`); returns the room there is (0 only when the
    /// allocation failed).
    private func reserve(_ wanted: Int) -> Int {
        if start + count + wanted > bufferCapacity, start > 0, let buffer {
            if count > 0 { memmove(buffer, buffer + start, count) }
            start = 0
        }
        if count + wanted > bufferCapacity {
            var size = max(bufferCapacity, Self.minimumBuffer)
            while size < count + wanted { size *= 2 }
            size = min(size, Self.capacity)
            if let grown = realloc(buffer, size) {
                buffer = grown
                bufferCapacity = size
            }
        }
        return min(wanted, bufferCapacity - start - count)
    }

    private func append(_ byte: UInt8) {
        // Out of memory for 4 KiB: Swift's own allocations trap the same way.
        guard reserve(1) == 1, let buffer else { fatalError("ExecStreamWindow: out of memory") }
        buffer.storeBytes(of: byte, toByteOffset: start + count, as: UInt8.self)
        count += 1
    }

    private func closePipe() {
        ended = true
        if fd >= 0 { Glibc.close(fd); fd = -1 }
    }
}
