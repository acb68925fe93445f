import FoundationEssentials
import Glibc
import Basics
import PluginProtocol

/// Lifecycle states: provisioning → ready ⇄ active → expired → destroying → destroyed, plus failed.
public enum SandboxState: String, Codable, Sendable, CaseIterable {
    case provisioning, ready, active, expired, destroying, destroyed, failed

    /// States in which the sandbox is alive and its TTL runs.
    public static let live: Set<SandboxState> = [.ready, .active]
    /// States from which nothing more happens.
    public var isTerminal: Bool { self == .destroyed || self == .failed }
}

/// Why a sandbox ended. Every termination carries one.
public enum TerminationReason: String, Codable, Sendable, CaseIterable {
    case ttl, ttlMax = "ttl_max", idle, manual, orphan, backendVanished = "backend_vanished", failed
}

/// One sandbox as the store keeps it. Times are whole milliseconds since the epoch in the store.
public struct Sandbox: Sendable, Equatable {
    /// Host-generated id: `sbx-` followed by 16 lowercase hex digits.
    public var id: String
    public var profile: String
    public var backend: String
    public var state: SandboxState
    /// Granted TTL in seconds (after the cap), counted from `readyAt`; grows with extend-ttl.
    public var ttlSeconds: Int64
    /// The profile's max at create time: total lifetime from `readyAt` never exceeds it.
    public var maxTTLSeconds: Int64
    /// The profile's idle_reap at create time; nil disables idle reaping.
    public var idleReapSeconds: Int64?
    public var createdAt: Date
    public var readyAt: Date?
    /// Last change or activity; idle reap counts from here.
    public var updatedAt: Date
    public var expiresAt: Date?
    public var labels: [String: String]
    /// The backend's handle, once create returned.
    public var backendRef: String?
    /// Why it ended (set with expired/destroying/destroyed/failed).
    public var reason: TerminationReason?
    /// Idempotency key of the create request, if one was given.
    public var idempotencyKey: String?
    /// The intent written before calling the backend to create or recreate it (the `request` column).
    public var request: CreateIntent
    /// Id of the host process that owns it (labels prove ownership on the backend).
    public var hostId: String
    /// The profile's `ttl.expiry_warning` at create time: an `expiry_warning` event goes out this long
    /// before `expiresAt`. Nil sends none.
    public var expiryWarningSeconds: Int64?
    /// The deadline the last `expiry_warning` was sent for; a new deadline (extend) can be warned again.
    public var warnedExpiresAt: Date?
    /// What last reset the idle clock (`ready`, `exec`, `ttl_extended`, `recreated`).
    public var lastActivity: String?
    /// The snapshot this sandbox was created or last recreated from.
    public var sourceSnapshot: String?
    /// The `info` object the backend returned from its last create or restore, bounded by
    /// `BackendInfo.bounded`; nil when it returned none.
    public var backendInfo: JSONValue?
    /// The built image (`img-…`) whose artifact its create or last recreate booted: while the sandbox
    /// is not destroyed or failed, it pins that image (`image-rm` refuses, `prune-images` keeps it).
    /// Nil for a named image or a snapshot restore; the store clears it when the sandbox ends.
    public var imageId: String?

    public init(id: String, profile: String, backend: String, state: SandboxState, ttlSeconds: Int64,
                maxTTLSeconds: Int64, idleReapSeconds: Int64?, createdAt: Date, readyAt: Date?, updatedAt: Date,
                expiresAt: Date?, labels: [String: String], backendRef: String?, reason: TerminationReason?,
                idempotencyKey: String?, request: CreateIntent, hostId: String, expiryWarningSeconds: Int64? = nil,
                warnedExpiresAt: Date? = nil, lastActivity: String? = nil, sourceSnapshot: String? = nil,
                backendInfo: JSONValue? = nil, imageId: String? = nil) {
        self.id = id; self.profile = profile; self.backend = backend; self.state = state
        self.ttlSeconds = ttlSeconds; self.maxTTLSeconds = maxTTLSeconds; self.idleReapSeconds = idleReapSeconds
        self.createdAt = createdAt; self.readyAt = readyAt; self.updatedAt = updatedAt; self.expiresAt = expiresAt
        self.labels = labels; self.backendRef = backendRef; self.reason = reason
        self.idempotencyKey = idempotencyKey; self.request = request; self.hostId = hostId
        self.expiryWarningSeconds = expiryWarningSeconds; self.warnedExpiresAt = warnedExpiresAt
        self.lastActivity = lastActivity; self.sourceSnapshot = sourceSnapshot
        self.backendInfo = backendInfo
        self.imageId = imageId
    }

    /// When the `expiry_warning` for the current deadline is due; nil when none is configured or it went out.
    public var warningDeadline: Date? {
        guard let seconds = expiryWarningSeconds, let expiresAt, warnedExpiresAt != expiresAt else { return nil }
        return expiresAt.addingTimeInterval(-Double(seconds))
    }

    /// The latest `expiresAt` the max allows: `readyAt + maxTTLSeconds` (nil before ready).
    public var latestDeadline: Date? { readyAt.map { $0.addingTimeInterval(Double(maxTTLSeconds)) } }

    /// When idle reaping would take it: `updatedAt + idleReapSeconds`.
    public var idleDeadline: Date? {
        idleReapSeconds.map { updatedAt.addingTimeInterval(Double($0)) }
    }
}

/// An event appended in the same transaction as the change it records.
public struct SandboxEvent: Sendable, Equatable {
    /// Monotonic sequence number assigned by the store (the outbox cursor).
    public var seq: Int64
    public var sandboxId: String
    /// The type's name: a `SandboxEventType` for every event this host writes. Kept as text because
    /// the store may hold types a newer host wrote, which readers list too (and otherwise ignore).
    public var type: String
    public var at: Date
    /// Event details, e.g. `{"reason":"ttl"}`.
    public var data: EventData

    /// An event this host writes.
    public init(seq: Int64 = 0, sandboxId: String, type: SandboxEventType, at: Date, data: EventData = [:]) {
        self.init(seq: seq, sandboxId: sandboxId, storedType: type.rawValue, at: at, data: data)
    }

    /// An event as the store holds it, whose type this version may not know.
    package init(seq: Int64, sandboxId: String, storedType: String, at: Date, data: EventData) {
        self.seq = seq; self.sandboxId = sandboxId; self.type = storedType; self.at = at; self.data = data
    }

    /// The type, when this version knows it.
    public var kind: SandboxEventType? { SandboxEventType(rawValue: type) }
}
