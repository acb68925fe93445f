import Basics
import Core
import Synchronization

extension BackendRegistry {
    /// Starts loading `name`'s plugin on a thread of its own, so that the caller's own start (opening
    /// the store, reading the sandbox's row) runs meanwhile; `backend(named:)` then waits for this load
    /// instead of starting another, and throws what it failed with. A one-shot command that knows
    /// which backend it will need saves up to the shorter of the two (docs/performance.md "The process
    /// start and the one-shot commands (session 9)"). Nothing happens for an unknown or loaded backend.
    public func preload(_ name: String) {
        guard config.backends[name] != nil, loaded.withLock({ $0[name] }) == nil else { return }
        let gate = PreloadGate()
        let owner = preloads.withLock { gates -> Bool in
            if gates[name] != nil { return false }
            gates[name] = gate
            return true
        }
        guard owner else { return }
        DetachedPluginWork.shared.began()   // until a caller takes it, nobody waits for this load
        let thread = PosixThread { [self] in
            var failure: SandboxerError? = nil
            do throws(SandboxerError) { _ = try load(name) } catch { failure = error }
            preloads.withLock { $0[name] = nil }
            gate.open(failure)
            DetachedPluginWork.shared.ended()
        }
        thread.name = "sandboxer-preload"
        thread.stackSize = PluginCallThreads.stackSize   // the plugin's instance_create runs on it
        thread.besideCreator = true   // it is worth something only if it runs while the store opens
        thread.start()
    }

}

/// The end of one preload: waiters block until it is open, then read its failure (nil: loaded).
final class PreloadGate: @unchecked Sendable {
    // @unchecked: `isOpen` and `failure` are only touched with `condition` held.
    private let condition = Condition()
    private var isOpen = false
    private var failure: SandboxerError?

    func open(_ failure: SandboxerError?) {
        condition.withLock {
            self.failure = failure
            isOpen = true
            condition.broadcast()
        }
    }

    func wait() -> SandboxerError? {
        condition.withLock {
            while !isOpen { condition.wait() }
            return failure
        }
    }
}
