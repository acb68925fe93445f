import Foundation

extension TTLRules {
    /// What an `expiry_warning` says: the deadline, the time left, and the rule that will end it.
    public struct Warning: Sendable, Equatable {
        public var expiresAt: Date
        /// Seconds from now to `expiresAt` (rounded up).
        public var inSeconds: Int64
        /// `ttl`, or `ttl_max` when the deadline is the cap (the sandbox cannot be extended).
        public var rule: TerminationReason
    }

    /// The warning `sandbox` is owed at `now`, or nil: none configured, not yet time, already sent for
    /// this deadline, or already due for expiry (a due sandbox is expired, not warned).
    public static func warning(_ sandbox: Sandbox, now: Date) -> Warning? {
        guard SandboxState.live.contains(sandbox.state), let warnAt = sandbox.warningDeadline, warnAt <= now,
              let expiresAt = sandbox.expiresAt, dueRule(sandbox, now: now) == nil else { return nil }
        return Warning(expiresAt: expiresAt, inSeconds: remaining(sandbox, now: now), rule: deadlineRule(sandbox))
    }

    /// The rule the TTL deadline fires as: `ttl_max` when `expires_at` is the cap `ready_at + max`.
    public static func deadlineRule(_ sandbox: Sandbox) -> TerminationReason {
        guard let expiresAt = sandbox.expiresAt, let cap = sandbox.latestDeadline else { return .ttl }
        return expiresAt >= cap ? .ttlMax : .ttl
    }
}

extension SandboxService {
    /// Sends the `expiry_warning` event of every live sandbox whose warning time (`expires_at` minus
    /// the profile's `ttl.expiry_warning`) has come: once per deadline, so after `extend-ttl` the new
    /// deadline is warned again. Sandboxes already due get none (the sweep expires them). Each
    /// warning is one conditional update, so concurrent sweeps send it once. Returns the events sent
    /// (their `seq` is 0: the store numbers them).
    @discardableResult
    public func sendExpiryWarnings(limit: Int? = nil) throws(SandboxerError) -> [SandboxEvent] {
        let at = now
        let candidates = try storeCall { () throws(StoreError) in try store.warningsDue(at: at, limit: limit) }
        var sent: [SandboxEvent] = []
        for sandbox in candidates {
            guard let warning = TTLRules.warning(sandbox, now: at) else { continue }
            let event = SandboxEvent(sandboxId: sandbox.id, type: "expiry_warning", at: at, data: EventData.json([
                "expires_at": RFC3339.format(warning.expiresAt), "in": DurationText.compact(warning.inSeconds),
                "rule": warning.rule.rawValue,
            ]))
            let recorded = try storeCall { () throws(StoreError) in
                try store.recordExpiryWarning(id: sandbox.id, expiresAt: warning.expiresAt, event: event, now: at)
            }
            if recorded { sent.append(event) }
        }
        return sent
    }
}
