import FoundationEssentials
import Glibc
import Basics
import PluginProtocol

/// Snapshot states: creating → ready → deleting → deleted, plus failed (a capture that did not finish).
public enum SnapshotState: String, Codable, Sendable, CaseIterable {
    case creating, ready, deleting, deleted, failed
}

/// Why a snapshot was taken.
public enum SnapshotTrigger: String, Codable, Sendable, CaseIterable {
    /// A consumer or operator asked (`sandboxer snapshot`, `POST /v1/sandboxes/{id}/snapshots`).
    case manual
    /// The expiry sweep took it before destroying the sandbox (profile `on_expire: snapshot`).
    case onExpire = "on_expire"
}

/// Why a snapshot was deleted.
public enum SnapshotDeletion: String, Codable, Sendable, CaseIterable {
    case manual
    /// More than the profile's `snapshots.keep` newer snapshots of the same sandbox exist.
    case retentionKeep = "retention_keep"
    /// Older than the profile's `snapshots.max_age`.
    case retentionMaxAge = "retention_max_age"
}

/// A captured state of a sandbox's writable layer, kept by the backend under `backendRef`.
public struct Snapshot: Sendable, Equatable {
    /// Host-generated id: `snap-` followed by 16 lowercase hex digits.
    public var id: String
    /// The sandbox it was taken from (the row is kept after the sandbox is destroyed).
    public var sandboxId: String
    public var backend: String
    /// The source sandbox's profile: retention rules and `create --from-snapshot` default to it.
    public var profile: String
    /// Optional name given by the user.
    public var name: String?
    public var state: SnapshotState
    /// Bytes the backend stores, once ready.
    public var sizeBytes: Int64?
    /// The backend's handle, once ready.
    public var backendRef: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var trigger: SnapshotTrigger
    /// Why it was deleted (with state deleting/deleted).
    public var deletedReason: SnapshotDeletion?
    /// The source sandbox's `sandboxer.owner` label: consumers see only their own snapshots.
    public var owner: String?
    public var hostId: String
    /// The process that took it (owner pid + start time), so a crashed capture is recognised.
    public var intent: SnapshotIntent
    /// Why a capture failed.
    public var message: String?

    public init(id: String, sandboxId: String, backend: String, profile: String, name: String?, state: SnapshotState,
                sizeBytes: Int64? = nil, backendRef: String? = nil, createdAt: Date, updatedAt: Date,
                trigger: SnapshotTrigger, deletedReason: SnapshotDeletion? = nil, owner: String?, hostId: String,
                intent: SnapshotIntent = SnapshotIntent(), message: String? = nil) {
        self.id = id; self.sandboxId = sandboxId; self.backend = backend; self.profile = profile; self.name = name
        self.state = state; self.sizeBytes = sizeBytes; self.backendRef = backendRef; self.createdAt = createdAt
        self.updatedAt = updatedAt; self.trigger = trigger; self.deletedReason = deletedReason; self.owner = owner
        self.hostId = hostId; self.intent = intent; self.message = message
    }
}

/// Snapshot ids: `snap-` and 16 lowercase hex digits.
public enum SnapshotID {
    public static func make() -> String { PrefixedHexID.make("snap-") }
    public static func isWellFormed(_ id: String) -> Bool { PrefixedHexID.isWellFormed(id, prefix: "snap-") }

    /// Names users give snapshots: 1 to 63 characters from a-z, A-Z, 0-9, '.', '_' and '-', not an id.
    public static func validateName(_ name: String) throws(SandboxerError) {
        let ok = !name.isEmpty && name.utf8.count <= 63 && name.utf8.allSatisfy { b in
            (b >= 97 && b <= 122) || (b >= 65 && b <= 90) || (b >= 48 && b <= 57) || b == 46 || b == 95 || b == 45
        }
        guard ok else {
            throw SandboxerError(.invalidArgument, "Invalid snapshot name '\(name)': use 1 to 63 characters from a-z, A-Z, 0-9, '.', '_' and '-'.")
        }
        guard !isWellFormed(name) else {
            throw SandboxerError(.invalidArgument, "The snapshot name '\(name)' looks like a snapshot id; choose another name.")
        }
    }
}
