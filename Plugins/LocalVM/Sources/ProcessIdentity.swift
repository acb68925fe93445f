import CLocalVM
import FoundationEssentials
import Glibc

/// A host process named by pid and start time, so a reused pid is never mistaken for it.
struct ProcessIdentity: Sendable, Equatable {
    let pid: Int32
    let startTime: UInt64

    /// State letter and start time (field 3 and 22) of /proc/<pid>/stat; nil when there is no such process.
    static func stat(_ pid: Int32) -> (state: Character, startTime: UInt64)? {
        guard pid > 0, let text = FileOps.readText("/proc/\(pid)/stat"),
              let close = text.lastIndex(of: ")") else { return nil }
        // After "pid (comm)" the fields are space separated; comm may itself hold spaces and ')'.
        let rest = text[text.index(after: close)...].split(separator: " ")
        // rest[0] is field 3 (state), so field 22 is rest[19].
        guard rest.count > 19, let state = rest[0].first, let start = UInt64(rest[19]) else { return nil }
        return (state, start)
    }

    /// The identity of a live process, read now.
    static func current(_ pid: Int32) -> ProcessIdentity? {
        stat(pid).map { ProcessIdentity(pid: pid, startTime: $0.startTime) }
    }

    /// True when the process exists with the recorded start time and has not exited (zombie).
    var isRunning: Bool {
        guard let s = Self.stat(pid), s.startTime == startTime else { return false }
        return s.state != "Z" && s.state != "X"
    }

    /// A pidfd for this very process (checked after opening, so the pidfd cannot name a newcomer),
    /// or nil when it is gone. The caller closes it.
    func openPidfd() -> Int32? {
        let fd = clvm_pidfd_open(pid)
        if fd < 0 { return nil }
        guard isRunning else { close(fd); return nil }
        return fd
    }

    /// Sends a signal through a verified pidfd; false when the process is gone.
    @discardableResult
    func signal(_ sig: Int32) -> Bool {
        guard let fd = openPidfd() else { return false }
        defer { close(fd) }
        return clvm_pidfd_signal(fd, sig) == 0
    }

    /// SIGKILL a pid (whatever it is now) and wait for it to exit, at most `timeoutMs`.
    static func killAndWait(pid: Int32, timeoutMs: Int32) {
        let fd = clvm_pidfd_open(pid)
        if fd < 0 { return }
        defer { close(fd) }
        _ = clvm_pidfd_signal(fd, SIGKILL)
        _ = clvm_pidfd_wait_exit(fd, timeoutMs)
    }
}
