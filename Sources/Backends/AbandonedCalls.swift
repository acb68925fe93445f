import Glibc
import Basics

/// In-process plugin calls the host gave up on (past their deadline, marked cancelled) that are
/// still running on their threads. A one-shot command waits a short grace for them before its
/// process exits: a plugin that sees `is_cancelled` and cleans up (removes what it half made)
/// should get to finish that, not be cut off by an exit a moment after the host stopped waiting.
public final class AbandonedCalls: @unchecked Sendable {
    // @unchecked: `running` is only touched with `condition` held.
    public static let shared = AbandonedCalls()

    private let condition = Condition()
    private var running = 0

    /// A call was abandoned while inside the plugin.
    func began() { condition.withLock { running += 1 } }

    /// An abandoned call returned.
    func ended() {
        condition.withLock {
            running -= 1
            condition.broadcast()
        }
    }

    /// How many abandoned calls are still inside a plugin.
    public var count: Int { condition.withLock { running } }

    /// Waits until no abandoned call is inside a plugin, at most `seconds`; true when none is.
    @discardableResult
    public func waitUntilNone(seconds: Double) -> Bool {
        let end = Self.monotonic() + seconds
        return condition.withLock {
            while running > 0 {
                let left = end - Self.monotonic()
                if left <= 0 { return false }
                condition.wait(seconds: left)
            }
            return true
        }
    }

    private static func monotonic() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
