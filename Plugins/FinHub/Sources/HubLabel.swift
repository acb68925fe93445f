import PluginKit

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
