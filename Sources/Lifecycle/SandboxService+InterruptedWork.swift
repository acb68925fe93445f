import Core
import Store

extension SandboxService {
    /// Whether any row could be interrupted work (see `SandboxStore.hasInterruptedWork`): when not,
    /// the three `reconcileInterrupted…` calls would find nothing, and a caller may skip them.
    public func hasInterruptedWork() throws(SandboxerError) -> Bool {
        try storeCall { () throws(StoreError) in try store.hasInterruptedWork() }
    }
}
