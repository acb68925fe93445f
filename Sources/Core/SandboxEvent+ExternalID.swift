import Basics
import PluginProtocol
extension SandboxEvent {
    /// The event's id outside the store (webhooks' `Sandboxer-Event-Id`, a receiver's idempotency
    /// key): the store's id and the event's seq, stable across retries and restarts, distinct between stores.
    public static func externalId(storeId: String, seq: Int64) -> String { "evt_\(storeId)_\(seq)" }

    /// This event's external id in store `storeId`.
    public func externalId(storeId: String) -> String { Self.externalId(storeId: storeId, seq: seq) }
}
