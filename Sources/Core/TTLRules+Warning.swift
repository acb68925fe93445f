import FoundationEssentials
import Glibc
import Basics
import PluginProtocol

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

