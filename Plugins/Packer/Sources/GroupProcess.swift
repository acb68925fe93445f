import Foundation
import Glibc
import PluginKit

/// A child process in a session (and process group) of its own, whose merged stdout and stderr the
/// owner reads line by line, and which can be stopped with everything it started.
///
/// Packer runs provisioners (`shell-local`) as children of its own; killing packer alone would
/// leave them running. The child is a session leader (`setsid`), so its pid is the group id every
/// descendant inherits, and one `kill(-pid, …)` reaches them all. Descendants that make a session
/// of their own escape; packer's builders and provisioners do not.
final class GroupProcess {
    /// How the process ended.
    enum Outcome: Equatable {
        case exited(Int32)
        case signaled(Int32)
    }

    let pid: pid_t
    private let output: Int32
    private var pending: [UInt8] = []
    private var eof = false
    private var outcome: Outcome?

    /// Runs the program in its directory (coreutils, always installed on Debian).
    static let env = "/usr/bin/env"

    /// The longest line handed out whole; a longer run of bytes is cut into pieces of this size.
    static let maxLineBytes = 64 << 10

    /// Starts `executable` with exactly `environment`, in `directory`, stdin from /dev/null.
    init(executable: String, arguments: [String], environment: [String: String], directory: String) throws(PluginError) {
        var fds: [Int32] = [0, 0]
        // pipe2 is not imported (it needs _GNU_SOURCE): close-on-exec is set right after, so only a
        // fork by another thread in between could inherit the ends (it would delay EOF, which the
        // owner's drain deadline bounds).
        guard pipe(&fds) == 0 else {
            throw PluginError(.internal, "Cannot make a pipe for \(executable): \(String(cString: strerror(errno))).")
        }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // The host may block SIGTERM in its threads (and Foundation's Process children inherit that):
        // give the child an empty mask and default handlers, so the TERM we send reaches it.
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        // POSIX_SPAWN_SETSID (glibc 2.26) is a macro Swift does not import: its value is 0x80.
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) | 0x80)

        // posix_spawn_file_actions_addchdir_np is not imported either: coreutils' `env -C DIR` changes
        // directory and execs the program in the same process (same pid, same session).
        let argv = ([Self.env, "-C", directory, "--", executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, Self.env, &actions, &attr, argv, envp)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            throw PluginError(.unavailable, "Cannot start \(executable): \(String(cString: strerror(rc))).")
        }
        pid = child
        output = fds[0]
    }

    deinit {
        if outcome == nil { stop(grace: 0) }
        close(output)
    }

    /// Waits up to `timeoutMs` for output or the process's end; returns the complete lines read
    /// (and, once the process is gone and its output drained, any last partial line).
    func readLines(timeoutMs: Int32) -> [Substring] {
        var lines: [Substring] = []
        if !eof {
            var pfd = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
            if Glibc.poll(&pfd, 1, timeoutMs) > 0 {
                var chunk = [UInt8](repeating: 0, count: 65536)
                let n = read(output, &chunk, chunk.count)
                if n > 0 { pending.append(contentsOf: chunk[0..<n]) } else if n == 0 || (errno != EINTR && errno != EAGAIN) { eof = true }
            }
        }
        var start = 0
        while start < pending.count {
            if let nl = pending[start...].firstIndex(of: UInt8(ascii: "\n")), nl - start <= Self.maxLineBytes {
                lines.append(Substring(String(decoding: pending[start..<nl], as: UTF8.self)))
                start = nl + 1
            } else if pending.count - start >= Self.maxLineBytes {
                lines.append(Substring(String(decoding: pending[start..<(start + Self.maxLineBytes)], as: UTF8.self)))
                start += Self.maxLineBytes
            } else {
                break
            }
        }
        pending.removeFirst(start)
        if eof, !pending.isEmpty {
            lines.append(Substring(String(decoding: pending, as: UTF8.self)))
            pending.removeAll()
        }
        return lines
    }

    /// True once every writer of the output pipe is gone and the last byte was read.
    var drained: Bool { eof && pending.isEmpty }

    /// The outcome, once the process has ended. On the first sight of its end, whatever is left of
    /// its group is killed before the process is reaped (so its pid, the group id, is not reused).
    func poll() -> Outcome? {
        if let outcome { return outcome }
        var info = siginfo_t()
        guard waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0, info._sifields._sigchld.si_pid == pid else { return nil }
        kill(-pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code = status & 0x7f
        outcome = code == 0 ? .exited((status >> 8) & 0xff) : .signaled(code)
        return outcome
    }

    /// Stops the whole group: TERM, up to `grace` seconds for the leader to end, then KILL.
    @discardableResult
    func stop(grace: Double) -> Outcome {
        if let outcome { return outcome }
        kill(-pid, SIGTERM)
        let deadline = Self.monotonic() + grace
        while Self.monotonic() < deadline {
            if let outcome = poll() { return outcome }
            // Keep the pipe drained meanwhile so a child blocked writing to it can run to its end.
            _ = readLines(timeoutMs: 50)
        }
        kill(-pid, SIGKILL)
        while poll() == nil { _ = readLines(timeoutMs: 50) }
        return outcome ?? .signaled(SIGKILL)
    }

    static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
