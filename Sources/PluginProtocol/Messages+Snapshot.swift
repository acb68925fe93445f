import FoundationEssentials
import Glibc

// The messages of capability `sandboxer.snapshot/1`: `snapshot`, `restore` and `delete_snapshot`.
// The host owns a snapshot's lifecycle (ids, retention, deletion); the backend only stores bytes
// under a reference it chooses and gives them back on `restore`.

/// `snapshot` request: capture the sandbox's writable state, consistently, and leave it running.
public struct SnapshotRequest: Codable, Sendable, Equatable {
    public var sandboxId: String
    public var backendRef: String
    /// Host-generated id of the snapshot (`snap-` and 16 hex digits); backends may use it as their reference.
    public var snapshotId: String
    /// Ownership labels (host, sandbox, profile) to keep with the snapshot, like those of a sandbox.
    public var labels: [String: String]
    public init(sandboxId: String, backendRef: String, snapshotId: String, labels: [String: String]) {
        self.sandboxId = sandboxId; self.backendRef = backendRef; self.snapshotId = snapshotId; self.labels = labels
    }
    enum CodingKeys: String, CodingKey {
        case sandboxId = "sandbox_id", backendRef = "backend_ref", snapshotId = "snapshot_id", labels
    }
}

/// `snapshot` response: the backend's handle for the snapshot and how much it stores.
public struct SnapshotResponse: Codable, Sendable, Equatable {
    public var snapshotRef: String
    /// Bytes the snapshot occupies on the backend (compressed size when it is compressed).
    public var sizeBytes: Int64
    public var info: [String: JSONValue]
    public init(snapshotRef: String, sizeBytes: Int64, info: [String: JSONValue] = [:]) {
        self.snapshotRef = snapshotRef; self.sizeBytes = sizeBytes; self.info = info
    }
    enum CodingKeys: String, CodingKey { case snapshotRef = "snapshot_ref", sizeBytes = "size_bytes", info }
}

/// `restore` request: everything `create` takes, plus the snapshot whose state the new sandbox starts from.
/// On the wire it is the create request with one more key, `snapshot_ref`.
public struct RestoreRequest: Codable, Sendable, Equatable {
    public var create: CreateRequest
    public var snapshotRef: String
    public init(create: CreateRequest, snapshotRef: String) { self.create = create; self.snapshotRef = snapshotRef }

    enum CodingKeys: String, CodingKey { case snapshotRef = "snapshot_ref" }

    public init(from decoder: any Decoder) throws {
        create = try CreateRequest(from: decoder)
        snapshotRef = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .snapshotRef)
    }

    public func encode(to encoder: any Encoder) throws {
        try create.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(snapshotRef, forKey: .snapshotRef)
    }
}

/// `delete_snapshot` request. A `not_found` answer means it was already gone.
public struct DeleteSnapshotRequest: Codable, Sendable, Equatable {
    public var snapshotId: String
    public var snapshotRef: String
    public init(snapshotId: String, snapshotRef: String) { self.snapshotId = snapshotId; self.snapshotRef = snapshotRef }
    enum CodingKeys: String, CodingKey { case snapshotId = "snapshot_id", snapshotRef = "snapshot_ref" }
}
