import Foundation
import Glibc
import PluginKit

/// Moves bytes between us and a child with one poll loop: writes its input, hands its output to the
/// caller as it comes, and stops at EOF of both outputs, at a deadline, or when the call is cancelled.
/// On deadline or cancel it SIGKILLs the child (a killed local ssh closes the remote side's stdin, and
/// the node helper's watchdog kills the remote command).
enum IOPump {
    enum Outcome: Equatable { case finished, timedOut, cancelled, stopped }

    /// Runs the loop. `keepStdinOpen`: after the input is written, stdin stays open until the outputs
    /// end (the node helper reads EOF on it as "the controller is gone"). A handler returning false
    /// stops the loop (the child is killed: it sent more than we take).
    static func run(_ child: Subprocess, input: Data, keepStdinOpen: Bool, deadline: Date?,
                    isCancelled: () -> Bool, onStdout: (Data) -> Bool, onStderr: (Data) -> Bool) -> Outcome {
        var written = 0
        if input.isEmpty && !keepStdinOpen { child.closeStdin() }
        if child.stdinFd >= 0 { _ = fcntl(child.stdinFd, F_SETFL, fcntl(child.stdinFd, F_GETFL) | O_NONBLOCK) }
        var buffer = [UInt8](repeating: 0, count: 65536)
        var outcome = Outcome.finished
        loop: while child.stdoutFd >= 0 || child.stderrFd >= 0 {
            if isCancelled() { outcome = .cancelled; break }
            var waitMs: Int32 = 100  // the cancellation check's period
            if let deadline {
                let left = deadline.timeIntervalSinceNow
                if left <= 0 { outcome = .timedOut; break }
                waitMs = min(waitMs, Int32(max(1, left * 1000)))
            }
            var fds: [pollfd] = []
            if child.stdoutFd >= 0 { fds.append(pollfd(fd: child.stdoutFd, events: Int16(POLLIN), revents: 0)) }
            if child.stderrFd >= 0 { fds.append(pollfd(fd: child.stderrFd, events: Int16(POLLIN), revents: 0)) }
            let writing = child.stdinFd >= 0 && written < input.count
            if writing { fds.append(pollfd(fd: child.stdinFd, events: Int16(POLLOUT), revents: 0)) }
            let n = poll(&fds, nfds_t(fds.count), waitMs)
            if n < 0 { if errno == EINTR { continue }; outcome = .stopped; break }
            for p in fds where p.revents != 0 {
                if p.fd == child.stdinFd {
                    let w = input.withUnsafeBytes { raw in
                        Glibc.write(p.fd, raw.baseAddress! + written, min(65536, input.count - written))
                    }
                    if w > 0 { written += w }
                    else if w < 0 && errno != EAGAIN && errno != EINTR { child.closeStdin(); written = input.count }
                    if written >= input.count && !keepStdinOpen { child.closeStdin() }
                    continue
                }
                let r = read(p.fd, &buffer, buffer.count)
                if r < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                let isOut = p.fd == child.stdoutFd
                if r <= 0 {
                    close(p.fd)
                    if isOut { child.stdoutFd = -1 } else { child.stderrFd = -1 }
                    continue
                }
                let data = Data(buffer[0..<r])
                if !(isOut ? onStdout(data) : onStderr(data)) { outcome = .stopped; break loop }
            }
        }
        if outcome != .finished { child.signal(SIGKILL) }
        child.closeAll()
        return outcome
    }
}

/// A local command run to completion with bounded output (sha256sum, tar).
enum LocalCommand {
    struct Result { var status: Int32; var stdout: Data; var stderr: Data }

    static func run(_ path: String, _ args: [String], input: Data = Data(), limit: Int,
                    timeout: Double = 120) throws(PluginError) -> Result {
        let child = try Subprocess.spawn(path, args, pipeStdin: !input.isEmpty, pipeStdout: true, pipeStderr: true)
        var out = Data(), err = Data()
        let outcome = IOPump.run(child, input: input, keepStdinOpen: false, deadline: Date().addingTimeInterval(timeout),
                                 isCancelled: { false },
                                 onStdout: { out.append($0); return out.count <= limit },
                                 onStderr: { if err.count < 4096 { err.append($0.prefix(4096 - err.count)) }; return true })
        let status = child.wait()
        guard outcome == .finished else {
            throw PluginError(.internal, "The byok plugin's local \((path as NSString).lastPathComponent) did not finish (\(outcome)).")
        }
        return Result(status: status, stdout: out, stderr: err)
    }
}
