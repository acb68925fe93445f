import CBYOK
import Foundation
import Glibc
import PluginKit

/// A child started with posix_spawn, with pipes for the streams asked for: no Swift runs between fork
/// and exec, only these descriptors reach it (ours are close-on-exec), and it starts with default
/// signal handling and an empty mask (the host blocks SIGTERM and ignores SIGPIPE; a child would
/// inherit both across exec and then shrug off a SIGTERM).
final class Subprocess: @unchecked Sendable {
    // @unchecked: the descriptors are set once at spawn; closing them is done by the one thread that
    // owns the I/O (`IOPump`) or, after that, by `deinit`.
    let pid: pid_t
    /// Our ends of the pipes, -1 when that stream was not piped (or is closed).
    var stdinFd: Int32
    var stdoutFd: Int32
    var stderrFd: Int32
    private var reaped: Int32?

    private init(pid: pid_t, stdin: Int32, stdout: Int32, stderr: Int32) {
        self.pid = pid; stdinFd = stdin; stdoutFd = stdout; stderrFd = stderr
    }

    deinit { closeAll() }

    /// Starts `path` with `args`; unpiped streams are /dev/null.
    static func spawn(_ path: String, _ args: [String], pipeStdin: Bool, pipeStdout: Bool,
                      pipeStderr: Bool) throws(PluginError) -> Subprocess {
        var fds: [[Int32]] = []
        func makePipe() throws(PluginError) -> [Int32] {
            var p: [Int32] = [-1, -1]
            guard cbyok_pipe_cloexec(&p) == 0 else {
                fds.joined().forEach { close($0) }
                throw LocalFiles.failure("create a pipe for", path)
            }
            fds.append(p)
            return p
        }
        let input = pipeStdin ? try makePipe() : nil
        let output = pipeStdout ? try makePipe() : nil
        let error = pipeStderr ? try makePipe() : nil
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let input { posix_spawn_file_actions_adddup2(&actions, input[0], 0) }
        else { posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0) }
        if let output { posix_spawn_file_actions_adddup2(&actions, output[1], 1) }
        else { posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0) }
        if let error { posix_spawn_file_actions_adddup2(&actions, error[1], 2) }
        else { posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var cArgs: [UnsafeMutablePointer<CChar>?] = ([path] + args).map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, path, &actions, &attributes, &cArgs, environ)
        // The child's ends are its own now (or nobody's, on failure).
        if let input { close(input[0]) }
        if let output { close(output[1]) }
        if let error { close(error[1]) }
        guard status == 0 else {
            [input?[1], output?[0], error?[0]].compactMap { $0 }.forEach { close($0) }
            throw PluginError(.unavailable, "The byok plugin could not start \(path): \(String(cString: strerror(status))).")
        }
        return Subprocess(pid: pid, stdin: input?[1] ?? -1, stdout: output?[0] ?? -1, stderr: error?[0] ?? -1)
    }

    /// Sends a signal, unless it has been reaped already (its pid may be someone else's now).
    func signal(_ sig: Int32) {
        if reaped == nil { kill(pid, sig) }
    }

    /// Waits for it to exit and reaps it: the exit code, or 128 + the signal that ended it.
    @discardableResult
    func wait() -> Int32 {
        if let reaped { return reaped }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        reaped = code
        return code
    }

    /// Closes our stdin end: the child sees EOF.
    func closeStdin() { if stdinFd >= 0 { close(stdinFd); stdinFd = -1 } }

    func closeAll() {
        closeStdin()
        if stdoutFd >= 0 { close(stdoutFd); stdoutFd = -1 }
        if stderrFd >= 0 { close(stderrFd); stderrFd = -1 }
    }
}
