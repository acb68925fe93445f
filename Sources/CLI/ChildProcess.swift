import Foundation
import Glibc
import Core

/// A child started with posix_spawn, for `port-forward`'s `via` commands: no Swift runs between
/// fork and exec, and only the descriptors named here reach it (ours are all close-on-exec).
struct ChildProcess: Sendable {
    let pid: pid_t

    /// How the child's standard input and output are wired.
    enum Stdio {
        /// stdin and stdout are these descriptors (duplicated onto 0 and 1 in the child).
        case descriptors(stdin: Int32, stdout: Int32)
        /// stdin is /dev/null and stdout goes to our stderr: its chatter never mixes with our output.
        case quiet
    }

    /// Starts `argv` (looked up in PATH). The caller waits for it with `terminate()` or `reap()`.
    static func spawn(_ argv: [String], stdio: Stdio) throws(SandboxerError) -> ChildProcess {
        guard let program = argv.first, !program.isEmpty else {
            throw SandboxerError(.backend, "The endpoint's via command is empty.")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        switch stdio {
        case .descriptors(let input, let output):
            posix_spawn_file_actions_adddup2(&actions, input, 0)
            posix_spawn_file_actions_adddup2(&actions, output, 1)
        case .quiet:
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_adddup2(&actions, 2, 1)
        }
        // We block SIGTERM/SIGINT (one sigwait thread takes them) and ignore SIGPIPE; a child would
        // inherit both across exec and then shrug off our SIGTERM. It starts with the defaults.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let status = posix_spawnp(&pid, program, &actions, &attributes, &cArgs, environ)
        guard status == 0 else {
            throw SandboxerError(.backend, "Cannot start the endpoint's via command \(program.quotedForMessage): \(String(cString: strerror(status))).")
        }
        return ChildProcess(pid: pid)
    }

    /// The exit status once it has exited (reaping it), nil while it runs.
    func exited() -> Int32? {
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        guard r == pid else { return r < 0 ? -1 : nil }
        return status
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace` seconds; always reaps it.
    func terminate(grace: Double = 3) {
        if exited() != nil { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        var status: Int32 = 0
        while Date() < deadline {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid || r < 0 { return }
            usleep(10_000)  // waiting for a process we just signalled: no descriptor to poll on
        }
        kill(pid, SIGKILL)
        _ = waitpid(pid, &status, 0)
    }
}
