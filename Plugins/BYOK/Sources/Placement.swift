import PluginKit

/// Chooses hosts for a new sandbox: the least-loaded host whose labels match the profile's
/// `placement` and whose capacity has room, then the next ones in order.
struct Placement: Sendable {
    /// One host as placement sees it.
    struct Candidate: Sendable, Equatable {
        var name: String
        var labels: [String: String]
        var capacity: Int
        /// Live sandboxes on it; nil when it could not be asked (down).
        var live: Int?
        /// Why it could not be asked.
        var error: String?
    }

    /// The hosts to try in order, and the ones passed over with the reason (for the error line).
    struct Plan: Sendable, Equatable {
        var order: [String]
        var full: [String]
        var down: [String]
        var skippedText: [String]
    }

    /// Whether a host's labels carry every required label.
    static func matches(_ labels: [String: String], required: [String: String]) -> Bool {
        required.allSatisfy { labels[$0.key] == $0.value }
    }

    /// Orders the candidates that have room by load (live/capacity, then live count, then name).
    static func plan(_ candidates: [Candidate]) -> Plan {
        var plan = Plan(order: [], full: [], down: [], skippedText: [])
        var open: [Candidate] = []
        for c in candidates {
            if let live = c.live {
                if live >= c.capacity {
                    plan.full.append(c.name)
                    plan.skippedText.append("\(c.name) full (\(live)/\(c.capacity))")
                } else {
                    open.append(c)
                }
            } else {
                plan.down.append(c.name)
                plan.skippedText.append("\(c.name) unreachable (\(c.error ?? "no answer"))")
            }
        }
        open.sort { a, b in
            let la = Double(a.live ?? 0) / Double(a.capacity), lb = Double(b.live ?? 0) / Double(b.capacity)
            if la != lb { return la < lb }
            if a.live != b.live { return (a.live ?? 0) < (b.live ?? 0) }
            return a.name < b.name
        }
        plan.order = open.map(\.name)
        return plan
    }

    /// The error when no host took the sandbox: `unavailable` when a host was down or failed that
    /// way (it may come back), else `quota`; one line naming every host tried.
    static func failure(_ attempts: [String], anyUnavailable: Bool) -> PluginError {
        let list = attempts.joined(separator: "; ")
        return PluginError(anyUnavailable ? .unavailable : .quota,
                           "No byok host could take the sandbox: \(list).")
    }
}
