import FoundationEssentials
import Glibc
import Basics
import PluginProtocol

/// The answer of `explain`: why a sandbox is still alive, or why and when it ends (or ended).
///
/// Built by a pure function of the sandbox row, its events, its profile (if it still exists) and
/// now; `summary` says it in one sentence, the other fields are the facts behind it.
public struct Explanation: Sendable, Equatable {
    /// The TTL as granted, requested and extended.
    public struct TTLFacts: Sendable, Equatable {
        /// The TTL now (after the create's cap and every extension), counted from `readyAt`.
        public var grantedSeconds: Int64
        /// What the create asked for (its `--ttl`, or the profile default); nil if unknown.
        public var requestedSeconds: Int64?
        /// True when the create's request was cut to the profile's max.
        public var cappedAtCreate: Bool
        /// How many times `extend-ttl` moved the deadline.
        public var extensions: Int
        public var readyAt: Date?
        public var expiresAt: Date?
    }

    /// The cap on the total lifetime.
    public struct CapFacts: Sendable, Equatable {
        public var maxSeconds: Int64
        /// The latest deadline any extension can reach: `ready_at + max` (nil before ready).
        public var latestDeadline: Date?
        /// True when `expires_at` is already the latest deadline.
        public var reached: Bool
    }

    /// The idle rule: the clock runs from the last change or activity.
    public struct IdleFacts: Sendable, Equatable {
        /// What last reset the idle clock (`ready`, `exec`, `ttl_extended`, `recreated`).
        public var lastActivity: String?
        /// The last change or activity (`updated_at`).
        public var lastChange: Date
        /// The profile's `idle_reap` at create time; nil when idle reaping is off.
        public var reapSeconds: Int64?
        /// When the idle rule fires if nothing happens: `updated_at + idle_reap` (ready and active only).
        public var deadline: Date?
    }

    /// The `expiry_warning` of the current deadline.
    public struct WarningFacts: Sendable, Equatable {
        /// How long before the deadline it goes out; nil when the profile sends none.
        public var beforeSeconds: Int64?
        /// When it goes (or went) out for the current deadline (ready and active only).
        public var at: Date?
        /// True when it was sent for the current deadline.
        public var sent: Bool
        /// The last `expiry_warning` event, whichever deadline it was for.
        public var lastEvent: SandboxEvent?
    }

    /// The rule that ends a live sandbox first.
    /// The backstop: the deadline the host pushed to the backend, which ends the sandbox there even if
    /// the host is down.
    public struct BackstopFacts: Sendable, Equatable {
        /// Whether the backend's deadline moves with every extend (it declares `sandboxer.timeout/1`).
        public var followsExtensions: Bool
        /// For a backend that cannot extend: the deadline set at create, the latest the profile allows
        /// (`ready_at + max`) plus the grace; nil when it follows the host's deadline.
        public var fixedAt: Date?
    }

    public struct NextRule: Sendable, Equatable {
        /// `ttl`, `ttl_max` or `idle`.
        public var rule: TerminationReason
        public var at: Date
        /// True when the moment has passed: the next expiry sweep acts.
        public var due: Bool
    }

    /// How an expired, destroying, destroyed or failed sandbox ended.
    public struct Ending: Sendable, Equatable {
        public var reason: TerminationReason?
        /// When it ended: the `destroyed` or `failed` event (or the expiry, while the destroy is pending).
        public var at: Date
        /// The first event that recorded the reason (`expired`, `destroying`, `failed`, else `destroyed`).
        public var event: SandboxEvent?
        /// The last event of the ending (`destroyed`, `failed`), when there is one.
        public var finalEvent: SandboxEvent?
        /// The failure message, for a failed create.
        public var message: String?
    }

    /// One sentence: the verdict and the rule behind it.
    public var summary: String
    public var sandbox: Sandbox
    public var now: Date
    /// False when the sandbox's profile is no longer in the configuration.
    public var profileExists: Bool
    /// What the expiry sweep does before destroying (the profile's `on_expire`; nil without a profile).
    public var onExpire: Profile.OnExpire?
    public var ttl: TTLFacts
    public var cap: CapFacts
    public var idle: IdleFacts
    public var warning: WarningFacts
    /// The backend's own deadline (the backstop if the host is down); nil when the backend is unknown.
    public var backstop: BackstopFacts?
    /// For ready and active sandboxes: the rule that fires first.
    public var next: NextRule?
    /// For expired, destroying, destroyed and failed sandboxes.
    public var ending: Ending?
}

extension Explanation {
    /// Explains `sandbox` at `now` from its `events` (oldest first) and its `profile`, if it still exists.
    /// `backendExtends`: whether the sandbox's backend declares `sandboxer.timeout/1` (nil: not known).
    public init(sandbox s: Sandbox, events: [SandboxEvent], profile: Profile?, now: Date, backendExtends: Bool? = nil) {
        sandbox = s
        self.now = now
        profileExists = profile != nil
        onExpire = profile?.onExpire
        ttl = TTLFacts(grantedSeconds: s.ttlSeconds, requestedSeconds: s.request.requestedTTLSeconds,
                       cappedAtCreate: s.request.capped,
                       extensions: events.filter { $0.kind == .ttlExtended }.count, readyAt: s.readyAt, expiresAt: s.expiresAt)
        let latest = s.latestDeadline
        cap = CapFacts(maxSeconds: s.maxTTLSeconds, latestDeadline: latest,
                       reached: latest.map { l in s.expiresAt.map { $0 >= l } ?? false } ?? false)
        // Deadlines still to come only mean something while the sandbox lives.
        let live = SandboxState.live.contains(s.state)
        idle = IdleFacts(lastActivity: s.lastActivity, lastChange: s.updatedAt, reapSeconds: s.idleReapSeconds,
                         deadline: live ? s.idleDeadline : nil)
        let warned = s.expiresAt != nil && s.warnedExpiresAt == s.expiresAt
        warning = WarningFacts(beforeSeconds: s.expiryWarningSeconds,
                               at: live ? s.expiryWarningSeconds.flatMap { w in s.expiresAt.map { $0.addingTimeInterval(-Double(w)) } } : nil,
                               sent: warned, lastEvent: events.last { $0.kind == .expiryWarning })
        backstop = backendExtends.map { extends in
            BackstopFacts(followsExtensions: extends,
                          fixedAt: extends ? nil : s.latestDeadline?.addingTimeInterval(Double(SandboxMachine.backstopGraceSeconds)))
        }
        next = live ? Self.firstRule(s, now: now) : nil
        ending = Self.ending(s, events: events)
        summary = ""
        summary = makeSummary()
    }

    /// Which of ttl/ttl_max and idle comes first for a live sandbox (`TTLRules.firstRule`).
    static func firstRule(_ s: Sandbox, now: Date) -> NextRule? {
        TTLRules.firstRule(s).map { NextRule(rule: $0.reason, at: $0.dueAt, due: $0.dueAt <= now) }
    }

    /// The ending of a sandbox that is no longer live, read from its events.
    static func ending(_ s: Sandbox, events: [SandboxEvent]) -> Ending? {
        guard [.expired, .destroying, .destroyed, .failed].contains(s.state) else { return nil }
        let reasonText = s.reason?.rawValue
        // The first event that names the reason; `destroyed` itself when nothing earlier did.
        let recording: Set<SandboxEventType> = [.expired, .destroying, .destroyed, .failed]
        let recorded = events.first { $0.kind.map(recording.contains) == true && $0.data.string("reason") == reasonText }
        let finalType: SandboxEventType = s.state == .failed ? .failed : .destroyed
        let final = events.last { $0.kind == finalType }
        let at = final?.at ?? recorded?.at ?? s.updatedAt
        return Ending(reason: s.reason, at: at, event: recorded, finalEvent: final,
                      message: (final ?? recorded)?.data.string("message"))
    }
}

extension Explanation {
    /// The one-sentence verdict, e.g. "sbx-… is ready and will be destroyed at … (in 3h12m) by rule
    /// ttl: its 4h ttl ends then; it can be extended up to … (max 24h)."
    func makeSummary() -> String {
        let s = sandbox, id = sandbox.id, state = sandbox.state.rawValue
        let ttlText = DurationText.format(s.ttlSeconds), maxText = DurationText.format(s.maxTTLSeconds)
        let snapshotFirst = onExpire == .snapshot
        switch s.state {
        case .provisioning:
            return "\(id) is provisioning since \(RFC3339.format(s.createdAt)); its \(ttlText) ttl starts when the backend "
                + "answers (expires_at = ready_at + \(ttlText), at most ready_at + \(maxText))."
        case .ready, .active:
            guard let next else { return "\(id) is \(state) and has no deadline." }
            if next.due {
                return "\(id) is \(state) but has been due since \(RFC3339.format(next.at)) (\(Self.span(now, next.at)) ago) "
                    + "by rule \(next.rule.rawValue): the next expiry sweep will \(snapshotFirst ? "snapshot and destroy" : "destroy") it."
            }
            let head = "\(id) is \(state) and will be \(snapshotFirst ? "snapshotted and destroyed" : "destroyed") at "
                + "\(RFC3339.format(next.at)) (in \(Self.span(next.at, now))) by rule \(next.rule.rawValue): "
            switch next.rule {
            case .ttlMax:
                return head + "it reaches its maximum lifetime of \(maxText) then and cannot be extended."
            case .idle:
                let idleText = s.idleReapSeconds.map(DurationText.format) ?? "-"
                let ttlEnd = s.expiresAt.map { "; otherwise its ttl ends at \(RFC3339.format($0))" } ?? ""
                return head + "it has been idle since \(RFC3339.format(s.updatedAt)) (last activity: \(s.lastActivity ?? "none")) "
                    + "and its idle_reap is \(idleText); activity moves this later\(ttlEnd)."
            default:
                let latest = cap.latestDeadline.map(RFC3339.format) ?? "-"
                return head + "its \(ttlText) ttl ends then; it can be extended up to \(latest) (max \(maxText))."
            }
        case .expired:
            let reason = s.reason?.rawValue ?? "ttl"
            let at = RFC3339.format(ending?.event?.at ?? s.updatedAt)
            return "\(id) expired at \(at) by rule \(reason) and is waiting to be destroyed: the next expiry sweep finishes it."
        case .destroying:
            return "\(id) is being destroyed since \(RFC3339.format(s.updatedAt)) (\(because()))."
        case .destroyed:
            return "\(id) was destroyed at \(RFC3339.format(ending?.at ?? s.updatedAt)) \(because())."
        case .failed:
            let at = RFC3339.format(ending?.at ?? s.updatedAt)
            if s.reason == .backendVanished {
                return "\(id) was marked failed at \(at) (reason backend_vanished): its backend resource vanished "
                    + "(reap-stale found it gone)."
            }
            let message = (ending?.message ?? "its create failed").trimming { $0 == "." || $0 == " " }
            return "\(id) failed at \(at) (reason \(s.reason?.rawValue ?? "failed")): \(message)."
        }
    }

    /// Why it ended, as a clause: "by rule ttl: its 4h ttl ended at …".
    private func because() -> String {
        let s = sandbox
        let ended = s.expiresAt.map(RFC3339.format) ?? "-"
        switch s.reason {
        case .ttl?: return "by rule ttl: its \(DurationText.format(s.ttlSeconds)) ttl ended at \(ended)"
        case .ttlMax?: return "by rule ttl_max: it reached its maximum lifetime of \(DurationText.format(s.maxTTLSeconds)) at \(ended)"
        case .idle?:
            return "by rule idle: it was idle for longer than its idle_reap of \(s.idleReapSeconds.map(DurationText.format) ?? "-")"
        case .manual?, nil: return "on request (reason manual)"
        case .orphan?: return "as an orphan (reason orphan)"
        case .backendVanished?: return "after its backend resource vanished (reason backend_vanished)"
        case .failed?: return "after a failure (reason failed)"
        }
    }

    /// `later - earlier` in compact form (whole seconds, rounded up).
    static func span(_ later: Date, _ earlier: Date) -> String {
        DurationText.compact(max(0, Int64(later.timeIntervalSince(earlier).rounded(.up))))
    }
}
