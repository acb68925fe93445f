import Foundation
import PluginKit

/// The parts of the hub's `Sandbox` JSON (docs/openapi.yaml) this plugin reads.
struct HubSandbox: Decodable, Sendable {
    var id: String
    var state: String
    var profile: String?
    var labels: [String: String]
    var createdAt: String?
    var expiresAt: String?
    var info: JSONValue?

    enum CodingKeys: String, CodingKey {
        case id, state, profile, labels, createdAt = "created_at", expiresAt = "expires_at", info
    }

    /// Whether the hub still runs it (provisioning counts: it is on its way).
    var isLive: Bool { ["provisioning", "ready", "active"].contains(state) }

    /// `expires_at` as a date.
    var expiresDate: Date? { expiresAt.flatMap(HubSandbox.rfc3339) }

    /// RFC 3339 with or without fractional seconds.
    static func rfc3339(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        if let date = plain.date(from: text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }
}

/// One page of the hub's sandbox list.
struct HubSandboxPage: Decodable, Sendable {
    var sandboxes: [HubSandbox]
    var nextCursor: String?
    enum CodingKeys: String, CodingKey { case sandboxes, nextCursor = "next_cursor" }
}

/// The hub's labels proving a sandbox is ours. The hub reserves `sandboxer.*` for itself, so ours
/// live under `finhub.*` there and are mapped back to the host's `sandboxer.*` keys in inventory.
enum HubLabel {
    static let host = "finhub.host"
    static let sandbox = "finhub.sandbox"
    static let profile = "finhub.profile"

    /// The hub labels for a create.
    static func owning(hostId: String, sandboxId: String, profile: String) -> [String: String] {
        [Self.host: hostId, Self.sandbox: sandboxId, Self.profile: profile]
    }

    /// The hub's labels as the host reads them: `finhub.*` ownership keys become `sandboxer.*`; the
    /// hub's own `sandboxer.*` labels (its host, its ids) are dropped, so they can never be taken for ours.
    static func toHost(_ labels: [String: String]) -> [String: String] {
        var out: [String: String] = [:]
        for (key, value) in labels where !key.hasPrefix("sandboxer.") {
            switch key {
            case Self.host: out[OwnershipLabel.host] = value
            case Self.sandbox: out[OwnershipLabel.sandbox] = value
            case Self.profile: out[OwnershipLabel.profile] = value
            default: out[key] = value
            }
        }
        return out
    }
}

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
