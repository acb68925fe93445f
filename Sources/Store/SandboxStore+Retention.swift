import FoundationEssentials
import Glibc
import Core
import Basics

/// What one pass of the outbox retention found (a plan) or deleted (with apply).
public struct OutboxPruneCounts: Sendable, Equatable {
    /// Events older than the cutoff that no webhook sink still needs.
    public var events: Int
    /// Delivered webhook delivery rows older than their cutoff.
    public var webhookDeliveries: Int

    public init(events: Int, webhookDeliveries: Int) {
        self.events = events; self.webhookDeliveries = webhookDeliveries
    }
}

/// Retention of the events outbox and of webhook delivery rows (`retention:` in the config,
/// docs/events.md): both would otherwise grow for as long as the store lives.
extension SandboxStore {
    /// Counts (apply false) or deletes, in one transaction:
    /// - delivered delivery rows last updated before `deliveriesBefore` (pending and dead rows are
    ///   kept: they are still work, or the operator's to requeue);
    /// - events before `eventsBefore` that every sink in `sinks` has passed with its cursor and that
    ///   no delivery row still names (a delivery reads its event when it is sent or listed).
    /// Cursors of sinks no longer in `sinks` (removed from the config) hold nothing back.
    /// Every delete walks an index (migration 5): `events_at`, `webhook_deliveries_delivered`,
    /// `webhook_deliveries_event`.
    public func pruneOutbox(eventsBefore: Date, deliveriesBefore: Date, sinks: [String],
                            apply: Bool) throws(StoreError) -> OutboxPruneCounts {
        let doing = apply ? "Pruning old events and delivered webhook rows" : "Counting old events and delivered webhook rows"
        let deliveriesMs = deliveriesBefore.millisecondsSince1970
        let eventsMs = eventsBefore.millisecondsSince1970
        return try locked { () throws(StoreError) in
            try connection.transaction(doing: doing) { () throws(StoreError) -> OutboxPruneCounts in
                let deliveryWhere = "FROM webhook_deliveries WHERE state = 'delivered' AND updated_at < ?"
                let deliveries: Int
                if apply {
                    deliveries = try connection.run("DELETE " + deliveryWhere, [.integer(deliveriesMs)], doing: doing)
                } else {
                    deliveries = try count("SELECT COUNT(*) " + deliveryWhere, [.integer(deliveriesMs)], doing: doing)
                }
                // The lowest cursor of the configured sinks: events after it are still to be enqueued.
                var bound = Int64.max
                if !sinks.isEmpty {
                    let marks = Array(repeating: "?", count: sinks.count).joined(separator: ", ")
                    let lowest = try connection.rows("SELECT MIN(last_seq) FROM webhook_cursors WHERE sink IN (\(marks))",
                                                     sinks.map { .text($0) }, doing: doing) { $0.optionalInt64(0) }.first ?? nil
                    if let lowest { bound = lowest }
                }
                // In a dry run the delivered rows above still exist: count as if they were gone.
                let named = apply
                    ? "NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_seq = events.seq)"
                    : "NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_seq = events.seq AND NOT (d.state = 'delivered' AND d.updated_at < ?))"
                let eventWhere = "FROM events WHERE at < ? AND seq <= ? AND " + named
                var values: [SQLValue] = [.integer(eventsMs), .integer(bound)]
                if !apply { values.append(.integer(deliveriesMs)) }
                let events = apply ? try connection.run("DELETE " + eventWhere, values, doing: doing)
                                   : try count("SELECT COUNT(*) " + eventWhere, values, doing: doing)
                return OutboxPruneCounts(events: events, webhookDeliveries: deliveries)
            }
        }
    }

    private func count(_ sql: String, _ values: [SQLValue], doing: String) throws(StoreError) -> Int {
        Int(try connection.rows(sql, values, doing: doing) { $0.int64(0) }.first ?? 0)
    }
}
