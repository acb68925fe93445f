import Foundation

/// The rule that maps the host's deadline onto the hub's (docs/backends/fin-hub.md, "TTL mapping").
public enum HubTTL {
    /// The hub TTL for a create: our deadline (`timeout_seconds`, the host's remaining TTL plus its
    /// own grace) plus `grace`, as a duration in seconds; nil when the host sent no deadline (the hub
    /// profile's default applies).
    public static func createSeconds(timeout: Int64?, grace: Int64) -> Int64? {
        timeout.map { max(1, $0) + max(0, grace) }
    }

    /// Seconds to add to the hub's deadline so that it is at least `now + timeout + grace`, judged on
    /// the hub's clock (`hubNow`, from its `Date` header, else ours); 0 when it already is. The hub's
    /// extend only adds, so a shorter wanted deadline leaves the hub's as it is. A deadline already
    /// past (not yet swept) is extended from now, as the hub does (docs/ttl.md, "Extend").
    public static func extendSeconds(hubExpiresAt: Date, hubNow: Date, timeout: Int64, grace: Int64) -> Int64 {
        let wanted = hubNow.addingTimeInterval(TimeInterval(max(0, timeout) + max(0, grace)))
        let delta = wanted.timeIntervalSince(max(hubExpiresAt, hubNow))
        return delta <= 0 ? 0 : Int64(delta.rounded(.up))
    }
}
