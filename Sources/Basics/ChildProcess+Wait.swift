import Glibc

extension ChildProcess {
    /// The status once it has exited (reaping it), nil while it runs.
    public func poll() -> ExitStatus? {
        if let done = lock.withLock({ reaped }) { return done }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid { return record(ExitStatus(waitStatus: status)) }
        // ECHILD: someone else reaped it (a SIGCHLD-ignoring parent); it is gone all the same.
        if r < 0 && errno == ECHILD { return record(.exited(-1)) }
        return nil
    }

    /// Waits for it to exit and reaps it.
    @discardableResult
    public func wait() -> ExitStatus {
        if let done = lock.withLock({ reaped }) { return done }
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, 0)
            if r == pid { return record(ExitStatus(waitStatus: status)) }
            if r < 0 && errno != EINTR { return record(.exited(-1)) }
        }
    }

    /// Waits up to `seconds` for it to exit; its status, or nil if it still runs.
    ///
    /// A process has no descriptor to poll on here (pidfd needs a newer kernel interface than
    /// Glibc's module offers), so this checks every 5 ms.
    public func wait(seconds: Double) -> ExitStatus? {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let end = Double(deadline.tv_sec) + Double(deadline.tv_nsec) / 1e9 + seconds
        while true {
            if let status = poll() { return status }
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            if Double(now.tv_sec) + Double(now.tv_nsec) / 1e9 >= end { return nil }
            usleep(5_000)  // waiting for a process to exit: no descriptor to poll on
        }
    }

    /// Sends `signal` (to its process group when `group`), unless it has been reaped already: its
    /// pid may be someone else's now.
    public func signal(_ signal: Int32, group: Bool = false) {
        lock.withLock {
            if reaped == nil { kill(group ? -pid : pid, signal) }
        }
    }

    /// Stops it as `sequence` declares and reaps it; its status (it may have exited on its own).
    @discardableResult
    public func terminate(_ sequence: TeardownSequence = .termThenKill()) -> ExitStatus {
        if let status = poll() { return status }
        for step in sequence.steps {
            signal(step.signal, group: sequence.toProcessGroup)
            guard let grace = step.grace else { return wait() }
            if let status = wait(seconds: grace) { return status }
        }
        return wait()
    }

    func record(_ status: ExitStatus) -> ExitStatus {
        lock.withLock {
            if reaped == nil { reaped = status }
            return reaped ?? status
        }
    }
}
