import Dispatch
import FoundationEssentials
import Glibc
import Synchronization

/// A one-shot stop signal that threads can wait on with a deadline (shutdown, `events --follow`,
/// the sweep loop): a wait ends early the moment stop is triggered.
public final class StopSignal: Sendable {
    public init() {}

    private let state = Mutex<(stopped: Bool, actions: [@Sendable () -> Void])>((false, []))
    private let semaphore = DispatchSemaphore(value: 0)

    /// Runs `action` once stop is triggered (at once if it already was).
    public func onTrigger(_ action: @escaping @Sendable () -> Void) {
        let already = state.withLock { s -> Bool in
            if !s.stopped { s.actions.append(action) }
            return s.stopped
        }
        if already { action() }
    }

    public func trigger() {
        let actions = state.withLock { s -> [@Sendable () -> Void]? in
            if s.stopped { return nil }
            s.stopped = true
            return s.actions
        }
        guard let actions else { return }
        semaphore.signal()
        for action in actions { action() }
    }

    /// Waits up to `seconds`; true once stop was triggered.
    public func wait(seconds: Double) -> Bool {
        if state.withLock({ $0.stopped }) { return true }
        if semaphore.wait(timeout: .now() + seconds) == .success { semaphore.signal(); return true }
        return state.withLock { $0.stopped }
    }
}
