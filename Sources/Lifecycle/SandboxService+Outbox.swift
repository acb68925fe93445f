import FoundationEssentials
import Glibc
import Core
import Store
import Basics

/// One pass of the outbox retention: the cutoffs it used and what it found or deleted.
public struct OutboxPruneReport: Sendable, Equatable {
    /// Events before this instant may go (now minus `retention.events`).
    public var eventsBefore: Date
    /// Delivered rows last updated before this instant go (now minus `retention.webhook_deliveries`).
    public var webhookDeliveriesBefore: Date
    public var counts: OutboxPruneCounts
}

extension SandboxService {
    /// Plans (apply false: counts) or applies the `retention:` rules: delivered webhook rows older
    /// than `webhook_deliveries`, and events older than `events` that every configured sink's cursor
    /// has passed and no delivery row still names. Run by `serve`'s sweep and `prune-events`.
    public func pruneOutbox(apply: Bool) throws(SandboxerError) -> OutboxPruneReport {
        let at = now
        let eventsBefore = at.addingTimeInterval(-Double(config.retention.events.seconds))
        let deliveriesBefore = at.addingTimeInterval(-Double(config.retention.webhookDeliveries.seconds))
        let sinks = config.webhooks.map(\.name)
        let counts = try storeCall { () throws(StoreError) in
            try store.pruneOutbox(eventsBefore: eventsBefore, deliveriesBefore: deliveriesBefore, sinks: sinks, apply: apply)
        }
        return OutboxPruneReport(eventsBefore: eventsBefore, webhookDeliveriesBefore: deliveriesBefore, counts: counts)
    }
}
