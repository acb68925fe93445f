import Foundation

/// One line of an expiry plan: which sandbox, which rule, and (with --apply) what happened.
public struct ExpiryItem: Sendable {
    public var sandbox: Sandbox
    /// The rule that matched: ttl, ttl_max or idle.
    public var rule: TerminationReason
    /// When the rule fired.
    public var dueAt: Date
    /// With apply: "destroyed", "skipped" (changed concurrently) or the error message.
    public var outcome: String?
}

extension SandboxService {
    /// Lists sandboxes past their deadline or idle past `idle_reap`; with `apply`, marks each
    /// expired then destroys it, and sends the expiry warnings that are due. A second apply finds
    /// nothing left to do.
    public func expire(apply: Bool, limit: Int? = nil) throws(SandboxerError) -> [ExpiryItem] {
        let at = now
        let due = try storeCall { () throws(StoreError) in try store.due(at: at, limit: limit) }
        var items = due.compactMap { s -> ExpiryItem? in
            TTLRules.dueRule(s, now: at).map { ExpiryItem(sandbox: s, rule: $0.reason, dueAt: $0.dueAt) }
        }
        guard apply else { return items }
        for index in items.indices {
            var machine = SandboxMachine(items[index].sandbox)
            do {
                _ = try machine.expire(items[index].rule, at: now)
                guard try commit(machine) else { items[index].outcome = "skipped"; continue }
                items[index].sandbox = try finishDestroy(machine.sandbox, reason: items[index].rule)
                items[index].outcome = items[index].sandbox.state.rawValue
            } catch {
                items[index].outcome = error.message
            }
        }
        // Expired rows a crashed sweep left behind are finished too.
        let leftovers = try list(SandboxFilter(states: [.expired]))
        for s in leftovers {
            let done = (try? finishDestroy(s, reason: s.reason ?? .ttl))
            items.append(ExpiryItem(sandbox: done ?? s, rule: s.reason ?? .ttl, dueAt: s.expiresAt ?? s.updatedAt,
                                    outcome: done?.state.rawValue ?? "error"))
        }
        // Then the expiry warnings (applying only: a warning is an event, and a dry run changes
        // nothing). Best effort: a failure leaves warn_at set, so the next sweep sends it.
        _ = try? sendExpiryWarnings()
        return items
    }
}
