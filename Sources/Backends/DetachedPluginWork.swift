import Basics

/// Work inside plugins that no caller waits for: in-process calls the host gave up on (past their
/// deadline, marked cancelled) still running on their threads, and plugins loading ahead of use
/// (`BackendRegistry.preload`) that the command may not need after all. A one-shot command waits a
/// short grace for it before its process exits: a plugin that sees `is_cancelled` and cleans up
/// (removes what it half made), or is halfway through `instance_create`, is not cut off by the exit.
public final class DetachedPluginWork: @unchecked Sendable {
    // @unchecked: `running` is only touched with `condition` held.
    public static let shared = DetachedPluginWork()

    private let condition = Condition()
    private var running = 0

    /// Work began that nobody waits for (a call abandoned while inside the plugin, a preload).
    func began() { condition.withLock { running += 1 } }

    /// Such work ended.
    func ended() {
        condition.withLock {
            running -= 1
            condition.broadcast()
        }
    }

    /// Waits until none is under way, at most `seconds`; true when none is.
    @discardableResult
    public func waitUntilNone(seconds: Double) -> Bool {
        let end = RunnerClock.monotonicSeconds() + seconds
        return condition.withLock {
            while running > 0 {
                let left = end - RunnerClock.monotonicSeconds()
                if left <= 0 { return false }
                condition.wait(seconds: left)
            }
            return true
        }
    }
}
