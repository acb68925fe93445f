import CLocalVM
import FoundationEssentials
import Basics
import Glibc
import PluginKit

/// One streamed command of LocalVM (`sandboxer.exec-stream/1`): its pipes, output windows, exit
/// status and deadlines. Thread-safe: the host may read both streams, write and wait concurrently.
final class ExecStreamSession: @unchecked Sendable {
    // @unchecked: `process` and the status fields are touched only with `lock` held; the windows
    // lock themselves; the cancel pipe is written once at release and closed only in deinit.

    let handle: String
    let sandboxId: String
    let stdout: ExecStreamWindow
    let stderr: ExecStreamWindow
    /// A pipe whose read end becomes readable once the handle is released: ends every wait at once.
    private let cancelFd: Int32
    private let cancelWriteFd: Int32

    private let lock = Lock()
    /// Serialises waits for the status (only one thread polls the status pipe at a time).
    private let waitLock = Lock()
    private var process: clvm_exec_stream
    private var status: Int32?
    private var exitedAt: Double?
    private var timedOut = false
    private var released = false
    private var stdinClosed: Bool
    /// Monotonic seconds of the last call naming this handle, and of the command's timeout.
    private var lastUsed: Double
    private let deadline: Double?

    /// After the command ends, how long its pipes may stay open (held by a background process)
    /// before they count as ended, as whole-buffer exec drains.
    static let drainGrace = 0.1

    init(handle: String, sandboxId: String, process: clvm_exec_stream, timeoutSeconds: Int64?) {
        self.handle = handle
        self.sandboxId = sandboxId
        var process = process
        stdout = ExecStreamWindow(fd: process.stdout_fd)
        stderr = ExecStreamWindow(fd: process.stderr_fd)
        process.stdout_fd = -1  // owned by the windows from here on
        process.stderr_fd = -1
        self.process = process
        stdinClosed = process.stdin_fd < 0
        var cancel: [Int32] = [-1, -1]
        // pipe2 is not in Glibc's Swift module; the clone helpers close stray descriptors anyway.
        if pipe(&cancel) == 0 { cancel.forEach { _ = fcntl($0, F_SETFD, FD_CLOEXEC) } }
        cancelFd = cancel[0]
        cancelWriteFd = cancel[1]
        let now = Self.monotonic()
        lastUsed = now
        deadline = timeoutSeconds.map { now + Double($0) }
    }

    deinit {
        if cancelFd >= 0 { close(cancelFd) }
        if cancelWriteFd >= 0 { close(cancelWriteFd) }
    }

    static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Notes a call naming the handle (the idle reaper spares handles in use).
    func touch() { lock.withLock { lastUsed = Self.monotonic() } }

    /// Seconds since a call last named this handle.
    func idleSeconds(now: Double) -> Double { lock.withLock { now - lastUsed } }

    /// The command's host pid (for tests that watch it in /proc).
    var commandPid: Int32 { lock.withLock { process.command_pid } }

    /// Reads one output stream (see `ExecStreamWindow.read`).
    func read(_ request: ExecReadRequest) throws(PluginError) -> ExecStreamWindow.Chunk {
        touch()
        let window: ExecStreamWindow
        switch request.stream {
        case "stdout": window = stdout
        case "stderr": window = stderr
        default: throw PluginError(.invalidRequest, "exec_read's stream must be \"stdout\" or \"stderr\", not \"\(request.stream)\".")
        }
        guard request.offset >= 0, request.maxBytes > 0, request.waitMs >= 0 else {
            throw PluginError(.invalidRequest, "exec_read needs offset >= 0, max_bytes > 0 and wait_ms >= 0.")
        }
        return try window.read(offset: request.offset, maxBytes: request.maxBytes, waitMs: request.waitMs,
                               cancelFd: cancelFd) { [self] in
            enforceDeadline()
            _ = poll(waitMs: 0)
            return lock.withLock { exitedAt.map { Self.monotonic() - $0 >= Self.drainGrace } ?? false }
        }
    }

    /// Writes standard input; answers how much the pipe took within `waitMs`.
    func write(_ data: Data, close closeAfter: Bool, waitMs: Int) throws(PluginError) -> ExecWriteResponse {
        touch()
        return lock.withLock { () -> ExecWriteResponse in
            guard process.stdin_fd >= 0 else { return ExecWriteResponse(accepted: 0, closed: true) }
            var accepted = 0
            let until = Self.monotonic() + Double(min(waitMs, ExecStreamLimits.maxWaitMs)) / 1000
            while accepted < data.count {
                let n = data.withUnsafeBytes { raw in
                    clvm_pipe_write(process.stdin_fd, raw.baseAddress! + accepted, data.count - accepted)
                }
                if n > 0 { accepted += n; continue }
                if n < 0, errno == EINTR { continue }
                if n < 0, errno == EAGAIN {
                    let left = Int32(max(0, (until - Self.monotonic()) * 1000))
                    if left == 0 { break }
                    var p = [pollfd(fd: process.stdin_fd, events: Int16(POLLOUT), revents: 0),
                             pollfd(fd: cancelFd, events: Int16(POLLIN), revents: 0)]
                    _ = Glibc.poll(&p, 2, left)
                    if p[1].revents != 0 { break }
                    continue
                }
                // The command closed its standard input (or exited): nothing more can be delivered.
                closeStdin()
                return ExecWriteResponse(accepted: accepted, closed: true)
            }
            if closeAfter, accepted == data.count { closeStdin() }
            return ExecWriteResponse(accepted: accepted, closed: process.stdin_fd < 0)
        }
    }

    private func closeStdin() {
        if process.stdin_fd >= 0 {
            Glibc.close(process.stdin_fd)
            process.stdin_fd = -1
        }
    }

    /// Waits at most `waitMs` for the command to end.
    func wait(waitMs: Int) -> ExecWaitResponse {
        touch()
        let until = Self.monotonic() + Double(min(max(0, waitMs), ExecStreamLimits.maxWaitMs)) / 1000
        var status: Int32? = nil
        while true {
            enforceDeadline()
            // Wake at the command's deadline to kill it, then keep waiting for the status it causes.
            var slice = until - Self.monotonic()
            if let deadline, !lock.withLock({ timedOut }) { slice = min(slice, deadline - Self.monotonic()) }
            status = poll(waitMs: max(0, Int((slice * 1000).rounded(.up))))
            if status != nil || Self.monotonic() >= until || lock.withLock({ released }) { break }
        }
        guard let status = status ?? lock.withLock({ self.status }) else { return ExecWaitResponse(state: ExecWaitResponse.running) }
        let signaled = status & 0x7f != 0 && status & 0x7f != 0x7f
        let code: Int32 = signaled ? 128 + (status & 0x7f) : (status >> 8) & 0xff
        return ExecWaitResponse(state: ExecWaitResponse.exited, exitCode: code, signal: signaled ? status & 0x7f : nil,
                                timedOut: lock.withLock { timedOut })
    }

    /// The status once known, polling the status pipe for at most `waitMs`.
    private func poll(waitMs: Int) -> Int32? {
        if let known = lock.withLock({ status }) { return known }
        // Another thread already waits: let it report; this one answers from what is known.
        guard waitMs > 0 ? { waitLock.lock(); return true }() : waitLock.tryLock() else { return nil }
        defer { waitLock.unlock() }
        if let known = lock.withLock({ status }) { return known }
        let (fd, alive) = lock.withLock { (process.status_fd, !released) }
        guard fd >= 0, alive else { return nil }
        // The status pipe is polled without `lock` (a long wait must not block writes or kills);
        // `waitLock` keeps the release from closing it meanwhile.
        var copy = lock.withLock { process }
        var st: Int32 = 0
        let rc = clvm_exec_stream_status(&copy, Int32(waitMs), cancelFd, &st)
        guard rc != 0 else { return nil }
        return lock.withLock {
            process.status_fd = copy.status_fd
            process.helper_pid = copy.helper_pid
            // The helper's own deadline kill: the same timeout as enforceDeadline's, seen from A.
            if rc == 1, st & CLVM_STATUS_TIMED_OUT != 0 { timedOut = true }
            status = rc == 1 ? st & 0xffff : Int32(255 << 8)
            exitedAt = Self.monotonic()
            if process.command_pidfd >= 0 { Glibc.close(process.command_pidfd); process.command_pidfd = -1 }
            return status
        }
    }

    /// Sends `signal` to the command's process group; a command that already ended is left alone.
    func kill(_ signal: Int32) throws(PluginError) {
        touch()
        guard (1...64).contains(signal) else {
            throw PluginError(.invalidRequest, "exec_kill's signal must be a Linux signal number (1–64), not \(signal).")
        }
        lock.withLock {
            guard status == nil, process.command_pidfd >= 0 else { return }
            _ = withUnsafePointer(to: process) { clvm_exec_stream_signal($0, signal) }
        }
    }

    /// Kills the command past its timeout (its process group, like whole-buffer exec's timeout).
    func enforceDeadline() {
        guard let deadline, Self.monotonic() >= deadline else { return }
        lock.withLock {
            guard status == nil, !timedOut, process.command_pidfd >= 0 else { return }
            timedOut = true
            _ = withUnsafePointer(to: process) { clvm_exec_stream_signal($0, SIGKILL) }
        }
    }

    /// Ends the command if it still runs, reaps its helper and closes everything. Idempotent.
    func release() {
        var one: UInt8 = 1
        let first = lock.withLock { () -> Bool in
            if released { return false }
            released = true
            return true
        }
        guard first else { return }
        _ = Glibc.write(cancelWriteFd, &one, 1)
        lock.withLock {
            if status == nil, process.command_pidfd >= 0 {
                _ = withUnsafePointer(to: process) { clvm_exec_stream_signal($0, SIGKILL) }
            }
        }
        // Past any status wait (it returns on the cancel event), then the helper can be reaped.
        waitLock.withLock {
            lock.withLock { clvm_exec_stream_close(&process) }
        }
        stdout.close()
        stderr.close()
    }
}
