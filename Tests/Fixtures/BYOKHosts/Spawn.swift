import Foundation
import Glibc

/// posix_spawn and waitpid for the fixture's commands: Foundation's Process reaps through a shared
/// mechanism that was seen to leave a child unreaped here (a zombie `ip`, the test waiting forever);
/// waiting on our own pid is deterministic.
enum Spawn {
    /// Starts `argv` with stdin from /dev/null and stdout/stderr on new pipes; returns the pid and
    /// our read ends (close-on-exec, so no later child inherits them).
    static func start(_ argv: [String], stdout wantOut: Bool = true) throws -> (pid: pid_t, out: Int32, err: Int32) {
        var out: [Int32] = [-1, -1], err: [Int32] = [-1, -1]
        guard pipe(&out) == 0, pipe(&err) == 0 else { throw FixtureError("pipe failed") }
        for fd in [out[0], err[0]] { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if wantOut { posix_spawn_file_actions_adddup2(&actions, out[1], 1) }
        else { posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0) }
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        for fd in [out[0], out[1], err[0], err[1]] { posix_spawn_file_actions_addclose(&actions, fd) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, &attributes, &cArgs, environ)
        close(out[1]); close(err[1])
        guard rc == 0 else {
            close(out[0]); close(err[0])
            throw FixtureError("cannot start \(argv[0]): \(String(cString: strerror(rc)))")
        }
        if !wantOut { close(out[0]) }
        return (pid, wantOut ? out[0] : -1, err[0])
    }

    /// Reads a descriptor to EOF and closes it.
    static func readAll(_ fd: Int32) -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        close(fd)
        return data
    }

    /// Waits for our child and returns its exit status (128 + signal when killed).
    @discardableResult
    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Runs to completion: status, stdout, stderr (stderr drained on a thread so neither pipe fills).
    static func run(_ argv: [String]) throws -> (status: Int32, out: Data, err: Data) {
        let child = try start(argv)
        let errBox = Box()
        let t = Thread { errBox.data = readAll(child.err); errBox.done.signal() }
        t.start()
        let out = readAll(child.out)
        errBox.done.wait()
        return (wait(child.pid), out, errBox.data)
    }

    final class Box: @unchecked Sendable {
        // @unchecked: written by one thread before `done` is signalled, read after.
        var data = Data()
        let done = DispatchSemaphore(value: 0)
    }
}
