import FoundationEssentials
import Glibc
import Basics
import PluginProtocol

/// One sandbox's lifecycle as a pure state machine: each event method changes the sandbox, queues
/// the events to append, and returns the `Action` the owner must perform. The owner does the I/O
/// (store writes conditioned on `startState`, backend calls); nothing here reads a clock or a file.
public struct SandboxMachine: Sendable {
    /// What the owner must do after an event.
    public enum Action: Sendable, Equatable {
        /// Nothing more: persist and return.
        case none
        /// Call the backend's destroy (a `not_found` answer counts as done).
        case destroyBackend
        /// Push the backend-native deadline: now + this many seconds.
        case pushTimeout(seconds: Int64)
    }

    /// The sandbox as the events left it.
    public private(set) var sandbox: Sandbox
    /// The sandbox as the machine started from it: the store writes only what differs from it.
    public let original: Sandbox
    /// The state the stored row must still have for these changes to apply.
    public var startState: SandboxState { original.state }
    /// Events to append in the same transaction as the change.
    public private(set) var events: [SandboxEvent] = []

    /// Grace added to the backend-native deadline, so the host's own sweep acts first.
    public static let backstopGraceSeconds: Int64 = 60

    public init(_ sandbox: Sandbox) {
        self.init(sandbox, stored: sandbox)
    }

    /// A machine for `sandbox`, a copy the caller already changed from `stored` (the row as read):
    /// the commit then writes those changes too, not only the events'.
    public init(_ sandbox: Sandbox, stored: Sandbox) {
        self.sandbox = sandbox
        self.original = stored
    }

    private mutating func record(_ type: SandboxEventType, _ data: EventData, at now: Date) {
        events.append(SandboxEvent(sandboxId: sandbox.id, type: type, at: now, data: data))
    }

    private mutating func move(to state: SandboxState, at now: Date) {
        sandbox.state = state
        sandbox.updatedAt = now
        // An ended sandbox pins no image: the store clears the column with the same change, and the
        // answer of the call that ended it must say what the row now says.
        if state.isTerminal { sandbox.imageId = nil }
    }

    /// The backend answered create: provisioning → ready; the TTL starts now.
    public mutating func created(backendRef: String, info: [String: JSONValue] = [:], at now: Date) throws(SandboxerError) -> Action {
        guard sandbox.state == .provisioning else { throw invalid("become ready") }
        sandbox.backendRef = backendRef
        sandbox.backendInfo = BackendInfo.bounded(info)
        sandbox.readyAt = now
        let expiresAt = now.addingTimeInterval(Double(sandbox.ttlSeconds))
        sandbox.expiresAt = expiresAt
        sandbox.lastActivity = "ready"
        move(to: .ready, at: now)
        record(.ready, ["backend_ref": .string(backendRef), "expires_at": .string(RFC3339.format(expiresAt))], at: now)
        return .pushTimeout(seconds: sandbox.ttlSeconds + Self.backstopGraceSeconds)
    }

    /// A recreate starts: ready/active → provisioning, the intent naming the process and the snapshot.
    /// The TTL anchor (`readyAt`, `expiresAt`) is kept.
    package mutating func beginRecreate(fromSnapshot: String?, owner: ProcessIdentity, at now: Date) throws(SandboxerError) {
        guard SandboxState.live.contains(sandbox.state) else {
            throw SandboxerError(.conflict, "Sandbox \(sandbox.id) is \(sandbox.state.rawValue); only ready or active sandboxes can be recreated.")
        }
        sandbox.request.owner = owner
        sandbox.request.recreate = true
        sandbox.request.fromSnapshot = fromSnapshot
        move(to: .provisioning, at: now)
        var data: EventData = ["previous_backend_ref": .string(sandbox.backendRef ?? "")]
        if let fromSnapshot { data["from_snapshot"] = .string(fromSnapshot) }
        record(.recreating, data, at: now)
    }

    /// The old instance could not be destroyed: provisioning → the state it had, nothing replaced.
    public mutating func abandonRecreate(restoring previous: Sandbox, message: String, at now: Date) {
        guard sandbox.state == .provisioning else { return }
        sandbox.request = previous.request
        sandbox.imageId = previous.imageId   // the old instance still runs: it keeps its image pinned
        move(to: previous.state == .active ? .ready : previous.state, at: now)
        record(.recreateFailed, ["message": .string(message)], at: now)
    }

    /// The new instance is up: provisioning → ready with the new handle; `readyAt` and `expiresAt` stay.
    public mutating func recreated(backendRef: String, previousRef: String?, info: [String: JSONValue] = [:],
                                   at now: Date) throws(SandboxerError) {
        guard sandbox.state == .provisioning else { throw invalid("finish a recreate") }
        let snapshot = sandbox.request.fromSnapshot
        sandbox.backendRef = backendRef
        sandbox.backendInfo = BackendInfo.bounded(info)
        sandbox.sourceSnapshot = snapshot
        sandbox.lastActivity = "recreated"
        move(to: .ready, at: now)
        var data: EventData = ["backend_ref": .string(backendRef), "previous_backend_ref": .string(previousRef ?? "")]
        if let snapshot { data["from_snapshot"] = .string(snapshot) }
        if let expiresAt = sandbox.expiresAt { data["expires_at"] = .string(RFC3339.format(expiresAt)) }
        record(.recreated, data, at: now)
    }

    /// The backend failed create, or an interrupted create was found gone: provisioning → failed.
    public mutating func createFailed(_ message: String, at now: Date) throws(SandboxerError) -> Action {
        guard sandbox.state == .provisioning else { throw invalid("fail its create") }
        sandbox.reason = .failed
        move(to: .failed, at: now)
        record(.failed, ["reason": .string(TerminationReason.failed.rawValue), "message": .string(message)], at: now)
        // A half-made resource may exist: clean it up (not_found is fine).
        return .destroyBackend
    }

    /// A consumer starts using the sandbox (exec): ready → active; activity resets the idle clock.
    public mutating func activityStarted(at now: Date) throws(SandboxerError) -> Action {
        guard SandboxState.live.contains(sandbox.state) else {
            throw SandboxerError(.conflict, "Sandbox \(sandbox.id) is \(sandbox.state.rawValue); only ready or active sandboxes can run commands.")
        }
        sandbox.lastActivity = "exec"
        move(to: .active, at: now)
        return .none
    }

    /// The consumer's command finished: active → ready, counting as activity too.
    public mutating func activityEnded(at now: Date) -> Action {
        guard sandbox.state == .active else { return .none }
        move(to: .ready, at: now)
        return .none
    }

    /// Extends the deadline by `seconds` (see `TTLRules.extend`); `by` names who asked.
    public mutating func extend(bySeconds seconds: Int64, by who: String, at now: Date) throws(SandboxerError) -> TTLRules.Extension {
        let ext = try TTLRules.extend(sandbox, bySeconds: seconds, now: now)
        sandbox.expiresAt = ext.to
        if let readyAt = sandbox.readyAt { sandbox.ttlSeconds = Int64(ext.to.timeIntervalSince(readyAt).rounded()) }
        sandbox.updatedAt = now
        sandbox.lastActivity = "ttl_extended"
        record(.ttlExtended, ["from": .string(RFC3339.format(ext.from)), "to": .string(RFC3339.format(ext.to)), "by": .string(who),
                              "capped": .bool(ext.capped)], at: now)
        return ext
    }

    /// The sweep found it due: ready/active → expired, with the rule as the reason.
    public mutating func expire(_ reason: TerminationReason, at now: Date) throws(SandboxerError) -> Action {
        try expire(reason, owner: nil, at: now)
    }

    /// `expire`, naming the process that goes on to destroy it: if that process dies before the row
    /// moves to destroying, a reconcile finishes the expiry instead of leaving the sandbox running.
    package mutating func expire(_ reason: TerminationReason, owner: ProcessIdentity?, at now: Date) throws(SandboxerError) -> Action {
        guard SandboxState.live.contains(sandbox.state) else { throw invalid("expire") }
        sandbox.reason = reason
        if let owner { sandbox.request.owner = owner }
        move(to: .expired, at: now)
        record(.expired, ["reason": .string(reason.rawValue)], at: now)
        return .none
    }

    /// Starts tearing the backend resource down. Destroyed: nothing to do (idempotent).
    /// Failed: the row stays failed (its reason stands) but the backend is still cleaned.
    public mutating func beginDestroy(_ reason: TerminationReason, at now: Date) -> Action {
        beginDestroy(reason, owner: nil, at: now)
    }

    /// `beginDestroy`, naming the process doing the destroy in the intent when the row moves to
    /// destroying: if that process dies before the outcome, a reconcile finishes the destroy at once
    /// instead of waiting on an age.
    package mutating func beginDestroy(_ reason: TerminationReason, owner: ProcessIdentity?, at now: Date) -> Action {
        switch sandbox.state {
        case .destroyed:
            return .none
        case .failed:
            return sandbox.backendRef == nil ? .none : .destroyBackend
        case .destroying:
            return .destroyBackend
        case .provisioning, .ready, .active, .expired:
            // An expired sandbox keeps the rule that expired it as its reason.
            if sandbox.state != .expired || sandbox.reason == nil { sandbox.reason = reason }
            // The create's owner, if any, is replaced: from here the destroyer answers for the row.
            if let owner { sandbox.request.owner = owner }
            move(to: .destroying, at: now)
            record(.destroying, ["reason": .string((sandbox.reason ?? reason).rawValue)], at: now)
            return .destroyBackend
        }
    }

    /// The backend confirmed destroy (or said not_found): destroying → destroyed.
    /// `data` adds details to the event (e.g. the `snapshot_id` an `on_expire: snapshot` took).
    public mutating func destroyed(at now: Date, data: EventData = [:]) throws(SandboxerError) -> Action {
        guard sandbox.state == .destroying else { return .none }
        move(to: .destroyed, at: now)
        var data = data
        data["reason"] = .string((sandbox.reason ?? .manual).rawValue)
        record(.destroyed, data, at: now)
        return .none
    }

    /// reap-stale found the store's live sandbox missing on the backend: → failed(backend_vanished).
    public mutating func vanished(at now: Date) throws(SandboxerError) -> Action {
        guard [.ready, .active, .expired].contains(sandbox.state) else { throw invalid("be marked vanished") }
        sandbox.reason = .backendVanished
        move(to: .failed, at: now)
        record(.failed, ["reason": .string(TerminationReason.backendVanished.rawValue)], at: now)
        return .none
    }

    private func invalid(_ what: String) -> SandboxerError {
        SandboxerError(.conflict, "Sandbox \(sandbox.id) is \(sandbox.state.rawValue) and cannot \(what).")
    }
}
