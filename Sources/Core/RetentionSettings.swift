import Basics

/// How long the store keeps the events outbox and delivered webhook rows (`retention:` in the config;
/// docs/events.md). `serve`'s sweep and `sandboxer prune-events --apply` delete what is older.
public struct RetentionSettings: Sendable, Equatable {
    /// Events younger than this are always kept, so a consumer reading with a cursor (`since`) can
    /// rely on them; older ones go once every webhook sink is past them. Default 30 days.
    public var events = TTLDuration(seconds: 30 * 86_400)
    /// Delivered webhook rows are deleted this long after delivery. Default 7 days.
    public var webhookDeliveries = TTLDuration(seconds: 7 * 86_400)

    public init() {}
}
