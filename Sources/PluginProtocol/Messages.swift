import FoundationEssentials
import Glibc

// The JSON messages of ABI v1, shared by the host and Swift plugins so the wire format has one
// definition. Keys are snake_case; readers ignore unknown keys, so fields may be appended.

/// Capability strings with their revision.
public enum Capability {
    public static let lifecycle = "sandboxer.lifecycle/1"
    public static let exec = "sandboxer.exec/1"
    public static let inventory = "sandboxer.inventory/1"
    public static let timeout = "sandboxer.timeout/1"
    /// `snapshot`, `restore` and `delete_snapshot`.
    public static let snapshot = "sandboxer.snapshot/1"
    /// `endpoints`: how to reach ports of a sandbox (docs/reachability.md).
    public static let reach = "sandboxer.reach/1"
    /// `build`: a builder plugin (Packer); a library may be a backend, a builder or both.
    public static let build = "sandboxer.build/1"
}

/// Operation names accepted by `invoke`.
public enum Operation {
    public static let describe = "describe"
    public static let create = "create"
    public static let status = "status"
    public static let destroy = "destroy"
    public static let inventory = "inventory"
    public static let exec = "exec"
    public static let setTimeout = "set_timeout"
    public static let snapshot = "snapshot"
    public static let restore = "restore"
    public static let deleteSnapshot = "delete_snapshot"
    public static let endpoints = "endpoints"
}

/// `describe` response.
public struct DescribeResponse: Codable, Sendable, Equatable {
    public var name: String
    public var version: String
    public var capabilities: [String]
    /// Artifact kinds a backend boots from a build (e.g. `rootfs-tar`); absent or empty: none.
    public var bootArtifactKinds: [String]?
    /// Free-form facts about the plugin's environment (a builder: the versions of the tools it drives,
    /// e.g. `packer_version`, which the host folds into its build cache key); absent: none.
    public var info: [String: JSONValue]?
    public init(name: String, version: String, capabilities: [String], bootArtifactKinds: [String]? = nil,
                info: [String: JSONValue]? = nil) {
        self.name = name; self.version = version; self.capabilities = capabilities
        self.bootArtifactKinds = bootArtifactKinds
        self.info = info
    }
    enum CodingKeys: String, CodingKey { case name, version, capabilities, bootArtifactKinds = "boot_artifact_kinds", info }
}

/// Resource limits for a sandbox; nil means the backend's default.
public struct ResourceLimits: Codable, Sendable, Equatable {
    public var cpus: Double?
    public var memoryBytes: Int64?
    public var pids: Int?
    /// Bytes the sandbox may write to its own file system (the writable layer); nil: unlimited.
    public var diskBytes: Int64?
    public init(cpus: Double? = nil, memoryBytes: Int64? = nil, pids: Int? = nil, diskBytes: Int64? = nil) {
        self.cpus = cpus; self.memoryBytes = memoryBytes; self.pids = pids; self.diskBytes = diskBytes
    }
    enum CodingKeys: String, CodingKey { case cpus, memoryBytes = "memory_bytes", pids, diskBytes = "disk_bytes" }
}

/// `create` request. `labels` always include `sandboxer.host`, `sandboxer.sandbox` and `sandboxer.profile`.
public struct CreateRequest: Codable, Sendable, Equatable {
    public var sandboxId: String
    public var hostId: String
    public var profile: String
    /// Backend-specific image reference; nil means the backend's default image.
    public var image: String?
    public var resources: ResourceLimits
    /// "none" (no network) or "host"-reachable networking such as "bridge"; backends document theirs.
    public var network: String
    public var env: [String: String]
    public var labels: [String: String]
    /// Seconds until the backend's own deadline (the host's TTL plus grace); nil for none.
    public var timeoutSeconds: Int64?
    /// Seconds from now to the latest deadline the profile allows (`ready_at + ttl.max`) plus grace:
    /// the backstop for a backend that cannot extend its deadline later. nil when the host sent none.
    public var latestDeadlineSeconds: Int64?
    /// The profile's `idle_reap` plus grace, for a backend with a native idle timeout; nil: no idle reaping.
    public var idleTimeoutSeconds: Int64?
    /// Options of a network mode other than `none` (egress, published ports); absent when none are set.
    public var networkOptions: CreateNetworkOptions?
    /// The built artifact to boot instead of `image` (a kind from `boot_artifact_kinds`); absent: use `image`.
    public var imageArtifact: BuildArtifact?
    /// Labels a host must carry to receive this sandbox (the profile's `placement`); absent: any host.
    public var placement: [String: String]?
    public init(sandboxId: String, hostId: String, profile: String, image: String?, resources: ResourceLimits,
                network: String, env: [String: String], labels: [String: String], timeoutSeconds: Int64?,
                latestDeadlineSeconds: Int64? = nil, idleTimeoutSeconds: Int64? = nil,
                networkOptions: CreateNetworkOptions? = nil, imageArtifact: BuildArtifact? = nil,
                placement: [String: String]? = nil) {
        self.sandboxId = sandboxId; self.hostId = hostId; self.profile = profile; self.image = image
        self.resources = resources; self.network = network; self.env = env; self.labels = labels
        self.timeoutSeconds = timeoutSeconds
        self.latestDeadlineSeconds = latestDeadlineSeconds; self.idleTimeoutSeconds = idleTimeoutSeconds
        self.networkOptions = networkOptions
        self.imageArtifact = imageArtifact; self.placement = placement
    }
    enum CodingKeys: String, CodingKey {
        case sandboxId = "sandbox_id", hostId = "host_id", profile, image, resources, network, env, labels
        case timeoutSeconds = "timeout_seconds"
        case latestDeadlineSeconds = "latest_deadline_seconds", idleTimeoutSeconds = "idle_timeout_seconds"
        case networkOptions = "network_options"
        case imageArtifact = "image_artifact", placement
    }
}

/// `create` response: the backend's handle for the sandbox and free-form facts about it.
public struct CreateResponse: Codable, Sendable, Equatable {
    public var backendRef: String
    public var info: [String: JSONValue]
    public init(backendRef: String, info: [String: JSONValue] = [:]) { self.backendRef = backendRef; self.info = info }
    enum CodingKeys: String, CodingKey { case backendRef = "backend_ref", info }
}

/// Names one sandbox on a backend: the request of `status` and `destroy`.
public struct SandboxRef: Codable, Sendable, Equatable {
    public var sandboxId: String
    public var backendRef: String
    public init(sandboxId: String, backendRef: String) { self.sandboxId = sandboxId; self.backendRef = backendRef }
    enum CodingKeys: String, CodingKey { case sandboxId = "sandbox_id", backendRef = "backend_ref" }
}

/// `status` response.
public struct StatusResponse: Codable, Sendable, Equatable {
    /// "running" or "stopped".
    public var state: String
    public var info: [String: JSONValue]
    public init(state: String, info: [String: JSONValue] = [:]) { self.state = state; self.info = info }
}

/// `inventory` request.
public struct InventoryRequest: Codable, Sendable, Equatable {
    public var hostId: String
    public init(hostId: String) { self.hostId = hostId }
    enum CodingKeys: String, CodingKey { case hostId = "host_id" }
}

/// One resource a backend holds that carries sandboxer labels.
public struct InventoryItem: Codable, Sendable, Equatable {
    public var backendRef: String
    public var sandboxId: String?
    public var labels: [String: String]
    /// Milliseconds since the epoch, when the backend knows it.
    public var createdAtMs: Int64?
    public init(backendRef: String, sandboxId: String?, labels: [String: String], createdAtMs: Int64?) {
        self.backendRef = backendRef; self.sandboxId = sandboxId; self.labels = labels; self.createdAtMs = createdAtMs
    }
    enum CodingKeys: String, CodingKey {
        case backendRef = "backend_ref", sandboxId = "sandbox_id", labels, createdAtMs = "created_at_ms"
    }
}

/// `inventory` response.
public struct InventoryResponse: Codable, Sendable, Equatable {
    public var resources: [InventoryItem]
    /// Parts of the backend that could not be asked (a host that is down): their sandboxes are unknown,
    /// not gone, so the host never calls them ghosts. Absent or empty: the list is complete.
    public var unreachable: [InventoryUnreachable]?
    public init(resources: [InventoryItem], unreachable: [InventoryUnreachable]? = nil) {
        self.resources = resources; self.unreachable = unreachable
    }
}

/// One part of a backend whose inventory is unknown (`inventory`'s optional `unreachable`).
public struct InventoryUnreachable: Codable, Sendable, Equatable {
    /// What could not be asked, for people (a host name).
    public var scope: String
    /// Sandboxes whose `backend_ref` starts with this are the unknown ones; nil: every sandbox of the backend.
    public var backendRefPrefix: String?
    /// One sentence: why.
    public var message: String
    public init(scope: String, backendRefPrefix: String?, message: String) {
        self.scope = scope; self.backendRefPrefix = backendRefPrefix; self.message = message
    }
    /// Whether the sandbox with this backend reference lives in the unknown part.
    public func covers(backendRef: String) -> Bool { backendRefPrefix.map { backendRef.hasPrefix($0) } ?? true }
    enum CodingKeys: String, CodingKey { case scope, backendRefPrefix = "backend_ref_prefix", message }
}

/// `exec` request.
public struct ExecRequest: Codable, Sendable, Equatable {
    public var sandboxId: String
    public var backendRef: String
    public var argv: [String]
    public var env: [String: String]
    /// Standard input, base64; nil for none.
    public var stdinB64: String?
    public var timeoutSeconds: Int64?
    /// Bytes to keep per output stream (the rest is read and dropped, and flagged truncated); nil:
    /// the plugin's own cap. The host truncates to it again, whatever the plugin did.
    public var maxOutputBytes: Int64?
    public init(sandboxId: String, backendRef: String, argv: [String], env: [String: String] = [:],
                stdinB64: String? = nil, timeoutSeconds: Int64? = nil, maxOutputBytes: Int64? = nil) {
        self.sandboxId = sandboxId; self.backendRef = backendRef; self.argv = argv; self.env = env
        self.stdinB64 = stdinB64; self.timeoutSeconds = timeoutSeconds; self.maxOutputBytes = maxOutputBytes
    }
    enum CodingKeys: String, CodingKey {
        case sandboxId = "sandbox_id", backendRef = "backend_ref", argv, env, stdinB64 = "stdin_b64"
        case timeoutSeconds = "timeout_seconds", maxOutputBytes = "max_output_bytes"
    }
}

/// `exec` response. A non-zero exit code is a result, not an error.
public struct ExecResponse: Codable, Sendable, Equatable {
    public var exitCode: Int32
    public var stdoutB64: String
    public var stderrB64: String
    public var timedOut: Bool
    /// True when output beyond the cap (`max_output_bytes`) was dropped; nil from plugins that never say.
    public var stdoutTruncated: Bool?
    public var stderrTruncated: Bool?
    public init(exitCode: Int32, stdout: Data, stderr: Data, timedOut: Bool = false,
                stdoutTruncated: Bool? = nil, stderrTruncated: Bool? = nil) {
        self.exitCode = exitCode; self.stdoutB64 = stdout.base64EncodedString()
        self.stderrB64 = stderr.base64EncodedString(); self.timedOut = timedOut
        self.stdoutTruncated = stdoutTruncated; self.stderrTruncated = stderrTruncated
    }
    public var stdout: Data { Data(base64Encoded: stdoutB64) ?? Data() }
    public var stderr: Data { Data(base64Encoded: stderrB64) ?? Data() }
    enum CodingKeys: String, CodingKey {
        case exitCode = "exit_code", stdoutB64 = "stdout_b64", stderrB64 = "stderr_b64", timedOut = "timed_out"
        case stdoutTruncated = "stdout_truncated", stderrTruncated = "stderr_truncated"
    }
}

/// `set_timeout` request: the backend's own deadline becomes now + `timeout_seconds`.
public struct SetTimeoutRequest: Codable, Sendable, Equatable {
    public var sandboxId: String
    public var backendRef: String
    public var timeoutSeconds: Int64
    public init(sandboxId: String, backendRef: String, timeoutSeconds: Int64) {
        self.sandboxId = sandboxId; self.backendRef = backendRef; self.timeoutSeconds = timeoutSeconds
    }
    enum CodingKeys: String, CodingKey {
        case sandboxId = "sandbox_id", backendRef = "backend_ref", timeoutSeconds = "timeout_seconds"
    }
}

/// An empty JSON object, the response of `destroy` and `set_timeout`.
public struct EmptyResponse: Codable, Sendable, Equatable { public init() {} }

/// Label keys the host puts on every backend resource to prove ownership.
public enum OwnershipLabel {
    public static let host = "sandboxer.host"
    public static let sandbox = "sandboxer.sandbox"
    public static let profile = "sandboxer.profile"
}
