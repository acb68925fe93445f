import Foundation
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
    /// The state the stored row must still have for these changes to apply.
    public let startState: SandboxState
    /// Events to append in the same transaction as the change.
    public private(set) var events: [SandboxEvent] = []

    /// Grace added to the backend-native deadline, so the host's own sweep acts first.
    public static let backstopGraceSeconds: Int64 = 60

    public init(_ sandbox: Sandbox) {
        self.sandbox = sandbox
        self.startState = sandbox.state
    }

    private mutating func record(_ type: String, _ data: [String: String], at now: Date) {
        events.append(SandboxEvent(sandboxId: sandbox.id, type: type, at: now, data: EventData.json(data)))
    }

    private mutating func move(to state: SandboxState, at now: Date) {
        sandbox.state = state
        sandbox.updatedAt = now
    }

    /// The backend answered create: provisioning → ready; the TTL starts now.
    public mutating func created(backendRef: String, info: [String: JSONValue] = [:], at now: Date) throws(SandboxerError) -> Action {
        guard sandbox.state == .provisioning else { throw invalid("become ready") }
        sandbox.backendRef = backendRef
        sandbox.backendInfo = BackendInfo.bounded(info)
        sandbox.readyAt = now
        sandbox.expiresAt = now.addingTimeInterval(Double(sandbox.ttlSeconds))
        sandbox.lastActivity = "ready"
        move(to: .ready, at: now)
        record("ready", ["backend_ref": backendRef, "expires_at": RFC3339.format(sandbox.expiresAt!)], at: now)
        return .pushTimeout(seconds: sandbox.ttlSeconds + Self.backstopGraceSeconds)
    }

    /// A recreate starts: ready/active → provisioning, the intent naming the process and the snapshot.
    /// The TTL anchor (`readyAt`, `expiresAt`) is kept.
    package mutating func beginRecreate(fromSnapshot: String?, owner: ProcessIdentity, at now: Date) throws(SandboxerError) {
        guard SandboxState.live.contains(sandbox.state) else {
            throw SandboxerError(.conflict, "Sandbox \(sandbox.id) is \(sandbox.state.rawValue); only ready or active sandboxes can be recreated.")
        }
        var intent = IntentFields(sandbox.request).all
        intent["owner_pid"] = String(owner.pid)
        intent["owner_start"] = String(owner.startTime)
        intent["recreate"] = "true"
        intent["from_snapshot"] = fromSnapshot
        sandbox.request = EventData.json(intent)
        move(to: .provisioning, at: now)
        var data = ["previous_backend_ref": sandbox.backendRef ?? ""]
        if let fromSnapshot { data["from_snapshot"] = fromSnapshot }
        record("recreating", data, at: now)
    }

    /// The old instance could not be destroyed: provisioning → the state it had, nothing replaced.
    public mutating func abandonRecreate(restoring previous: Sandbox, message: String, at now: Date) {
        guard sandbox.state == .provisioning else { return }
        sandbox.request = previous.request
        move(to: previous.state == .active ? .ready : previous.state, at: now)
        record("recreate_failed", ["message": message], at: now)
    }

    /// The new instance is up: provisioning → ready with the new handle; `readyAt` and `expiresAt` stay.
    public mutating func recreated(backendRef: String, previousRef: String?, info: [String: JSONValue] = [:],
                                   at now: Date) throws(SandboxerError) {
        guard sandbox.state == .provisioning else { throw invalid("finish a recreate") }
        let snapshot = IntentFields(sandbox.request)["from_snapshot"]
        sandbox.backendRef = backendRef
        sandbox.backendInfo = BackendInfo.bounded(info)
        sandbox.sourceSnapshot = snapshot
        sandbox.lastActivity = "recreated"
        move(to: .ready, at: now)
        var data = ["backend_ref": backendRef, "previous_backend_ref": previousRef ?? ""]
        if let snapshot { data["from_snapshot"] = snapshot }
        if let expiresAt = sandbox.expiresAt { data["expires_at"] = RFC3339.format(expiresAt) }
        record("recreated", data, at: now)
    }

    /// The backend failed create, or an interrupted create was found gone: provisioning → failed.
    public mutating func createFailed(_ message: String, at now: Date) throws(SandboxerError) -> Action {
        guard sandbox.state == .provisioning else { throw invalid("fail its create") }
        sandbox.reason = .failed
        move(to: .failed, at: now)
        record("failed", ["reason": TerminationReason.failed.rawValue, "message": message], at: now)
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
        record("ttl_extended", ["from": RFC3339.format(ext.from), "to": RFC3339.format(ext.to), "by": who,
                                "capped": ext.capped ? "true" : "false"], at: now)
        return ext
    }

    /// The sweep found it due: ready/active → expired, with the rule as the reason.
    public mutating func expire(_ reason: TerminationReason, at now: Date) throws(SandboxerError) -> Action {
        guard SandboxState.live.contains(sandbox.state) else { throw invalid("expire") }
        sandbox.reason = reason
        move(to: .expired, at: now)
        record("expired", ["reason": reason.rawValue], at: now)
        return .none
    }

    /// Starts tearing the backend resource down. Destroyed: nothing to do (idempotent).
    /// Failed: the row stays failed (its reason stands) but the backend is still cleaned.
    public mutating func beginDestroy(_ reason: TerminationReason, at now: Date) -> Action {
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
            move(to: .destroying, at: now)
            record("destroying", ["reason": (sandbox.reason ?? reason).rawValue], at: now)
            return .destroyBackend
        }
    }

    /// The backend confirmed destroy (or said not_found): destroying → destroyed.
    /// `data` adds details to the event (e.g. the `snapshot_id` an `on_expire: snapshot` took).
    public mutating func destroyed(at now: Date, data: [String: String] = [:]) throws(SandboxerError) -> Action {
        guard sandbox.state == .destroying else { return .none }
        move(to: .destroyed, at: now)
        record("destroyed", data.merging(["reason": (sandbox.reason ?? .manual).rawValue]) { _, reason in reason }, at: now)
        return .none
    }

    /// reap-stale found the store's live sandbox missing on the backend: → failed(backend_vanished).
    public mutating func vanished(at now: Date) throws(SandboxerError) -> Action {
        guard [.ready, .active, .expired].contains(sandbox.state) else { throw invalid("be marked vanished") }
        sandbox.reason = .backendVanished
        move(to: .failed, at: now)
        record("failed", ["reason": TerminationReason.backendVanished.rawValue], at: now)
        return .none
    }

    private func invalid(_ what: String) -> SandboxerError {
        SandboxerError(.conflict, "Sandbox \(sandbox.id) is \(sandbox.state.rawValue) and cannot \(what).")
    }
}

/// Event payloads are flat string maps encoded as sorted JSON objects.
public enum EventData {
    public static func json(_ data: [String: String]) -> String {
        guard !data.isEmpty else { return "{}" }
        let body = data.keys.sorted().map { "\(JSONText.quote($0)):\(JSONText.quote(data[$0]!))" }
        return "{" + body.joined(separator: ",") + "}"
    }
}
