import Foundation
import Glibc

/// Waits for a process that is not our child to end, without polling: a pidfd turns readable when
/// it exits (the sandbox inits on the test hosts run on this same kernel).
public enum ProcessWatch {
    private typealias SyscallFn = @convention(c) (Int, Int32, UInt32) -> Int

    /// True once `pid` has exited (or is gone already); false at `timeout`.
    public static func waitForExit(pid: Int32, timeout: TimeInterval) -> Bool {
        // pidfd_open(2) has no Glibc wrapper before 2.36, and Swift cannot call the variadic syscall():
        // look it up and call it with the fixed arguments this call needs.
        guard let handle = dlopen(nil, RTLD_NOW), let fn = dlsym(handle, "syscall") else { return false }
        let syscall = unsafeBitCast(fn, to: SyscallFn.self)
        let fd = syscall(434 /* SYS_pidfd_open on x86_64 and arm64 */, pid, 0)
        if fd < 0 { return errno == ESRCH }
        defer { close(Int32(fd)) }
        var p = pollfd(fd: Int32(fd), events: Int16(POLLIN), revents: 0)
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let left = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
            let n = poll(&p, 1, left)
            if n > 0 { return true }
            if n == 0 { return false }
            if errno != EINTR { return false }
        }
    }
}
