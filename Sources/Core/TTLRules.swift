import FoundationEssentials
import Glibc
import Basics
import PluginProtocol

/// The TTL model as pure functions over seconds and dates (docs/ttl.md is its prose twin).
public enum TTLRules {
    /// The TTL a create is granted: the request's or the profile default, capped at `max`.
    public static func grant(requested: Int64?, defaultSeconds: Int64, maxSeconds: Int64) -> (seconds: Int64, capped: Bool) {
        let wanted = requested ?? defaultSeconds
        return wanted > maxSeconds ? (maxSeconds, true) : (wanted, false)
    }

    /// What an extension does to a sandbox's deadline.
    public struct Extension: Sendable, Equatable {
        public var from: Date
        public var to: Date
        /// True when the request asked for more than the profile's max allows.
        public var capped: Bool
    }

    /// Extends `sandbox` by `seconds` at `now`: from the current deadline (or now, if already past),
    /// never beyond `ready_at + max`. Only ready and active sandboxes can be extended.
    public static func extend(_ sandbox: Sandbox, bySeconds seconds: Int64, now: Date) throws(SandboxerError) -> Extension {
        guard SandboxState.live.contains(sandbox.state), let readyAt = sandbox.readyAt, let expiresAt = sandbox.expiresAt else {
            throw SandboxerError(.conflict, "Sandbox \(sandbox.id) is \(sandbox.state.rawValue); only ready or active sandboxes can be extended.")
        }
        let cap = sandbox.latestDeadline ?? readyAt
        guard cap > now else {
            throw SandboxerError(.conflict, "Sandbox \(sandbox.id) has reached its maximum lifetime of \(DurationText.format(sandbox.maxTTLSeconds)) and cannot be extended.")
        }
        let base = max(expiresAt, now)
        let proposed = base.addingTimeInterval(Double(seconds))
        return proposed > cap ? Extension(from: expiresAt, to: cap, capped: true)
                              : Extension(from: expiresAt, to: proposed, capped: false)
    }

    /// The rule that makes a sandbox due for expiry at `now`, or nil while it may live on.
    public static func dueRule(_ sandbox: Sandbox, now: Date) -> (reason: TerminationReason, dueAt: Date)? {
        guard SandboxState.live.contains(sandbox.state), let first = firstRule(sandbox), first.dueAt <= now else { return nil }
        return first
    }

    /// Which rule ends the sandbox first, ttl/ttl_max or idle, and when; nil when it has no deadline.
    /// On a tie the TTL rule is named (it was promised up front).
    public static func firstRule(_ sandbox: Sandbox) -> (reason: TerminationReason, dueAt: Date)? {
        var candidates: [(reason: TerminationReason, dueAt: Date)] = []
        if let expiresAt = sandbox.expiresAt { candidates.append((deadlineRule(sandbox), expiresAt)) }
        if let idle = sandbox.idleDeadline { candidates.append((.idle, idle)) }
        return candidates.min { $0.dueAt < $1.dueAt }
    }

    /// Seconds left before the deadline (never negative).
    public static func remaining(_ sandbox: Sandbox, now: Date) -> Int64 {
        guard let expiresAt = sandbox.expiresAt else { return 0 }
        return max(0, Int64(expiresAt.timeIntervalSince(now).rounded(.up)))
    }
}

/// Formats seconds as the largest exact duration unit (the duration grammar's inverse).
public enum DurationText {
    public static func format(_ seconds: Int64) -> String { TTLDuration(seconds: seconds).description }
}
