import Foundation

extension SandboxService {
    /// Explains sandbox `id`: why it is still alive, or why and when it will be (or was) reaped.
    public func explain(_ id: String) throws(SandboxerError) -> Explanation {
        let sandbox = try get(id)
        let events = try storeCall { () throws(StoreError) in try store.events(sandboxId: id, since: nil, limit: nil) }
        return Explanation(sandbox: sandbox, events: events, profile: config.profiles[sandbox.profile], now: now)
    }
}

extension SandboxEvent {
    /// One string field of the event's data, if present.
    func field(_ key: String) -> String? { IntentFields(data)[key] }
}

extension DurationText {
    /// Seconds as at most two adjacent units, for people: `3h12m`, `45s`, `2d3h`, `0s`. Truncates
    /// (3h12m59s is `3h12m`); the exact grammar form is `format`.
    public static func compact(_ seconds: Int64) -> String {
        let units = TTLDuration.units
        guard let i = units.firstIndex(where: { seconds >= $0.seconds }) else { return "0s" }
        var text = "\(seconds / units[i].seconds)\(units[i].suffix)"
        if i + 1 < units.count {
            let next = (seconds % units[i].seconds) / units[i + 1].seconds
            if next > 0 { text += "\(next)\(units[i + 1].suffix)" }
        }
        return text
    }
}
