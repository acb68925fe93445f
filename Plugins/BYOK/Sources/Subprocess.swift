import Basics
import Glibc
import PluginKit

/// A child started through Basics' `ChildProcess` (posix_spawn), with pipes for the streams asked
/// for: no Swift runs between fork and exec, only these descriptors reach it, and it starts with
/// default signal handling and an empty mask (the host blocks SIGTERM and ignores SIGPIPE; a child
/// would inherit both across exec and then shrug off a SIGTERM).
final class Subprocess: @unchecked Sendable {
    // @unchecked: the descriptors are set once at spawn; closing them is done by the one thread that
    // owns the I/O (`IOPump`) or, after that, by `deinit`.
    let pid: pid_t
    /// Our ends of the pipes, -1 when that stream was not piped (or is closed).
    var stdinFd: Int32
    var stdoutFd: Int32
    var stderrFd: Int32
    private let child: ChildProcess

    private init(_ child: ChildProcess) {
        self.child = child
        pid = child.pid
        stdinFd = child.takeStdin(); stdoutFd = child.takeStdout(); stderrFd = child.takeStderr()
    }

    deinit { closeAll() }

    /// Starts `path` with `args`; unpiped streams are /dev/null.
    static func spawn(_ path: String, _ args: [String], pipeStdin: Bool, pipeStdout: Bool,
                      pipeStderr: Bool) throws(PluginError) -> Subprocess {
        var options = ChildProcess.Options([path] + args)
        options.stdin = pipeStdin ? .pipe : .null
        options.stdout = pipeStdout ? .pipe : .null
        options.stderr = pipeStderr ? .pipe : .null
        switch ChildProcess.spawn(options) {
        case .success(let child): return Subprocess(child)
        case .failure(let error):
            throw PluginError(.unavailable, "The byok plugin could not start \(path): \(String(cString: strerror(error.errorNumber))).")
        }
    }

    /// Sends a signal, unless it has been reaped already (its pid may be someone else's now).
    func signal(_ sig: Int32) { child.signal(sig) }

    /// Waits for it to exit and reaps it: the exit code, or 128 + the signal that ended it.
    @discardableResult
    func wait() -> Int32 { child.wait().code }

    /// Closes our stdin end: the child sees EOF.
    func closeStdin() { if stdinFd >= 0 { close(stdinFd); stdinFd = -1 } }

    func closeAll() {
        closeStdin()
        if stdoutFd >= 0 { close(stdoutFd); stdoutFd = -1 }
        if stderrFd >= 0 { close(stderrFd); stderrFd = -1 }
    }
}
