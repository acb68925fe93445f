import FoundationEssentials
import Glibc
import Basics
import PluginProtocol

/// Where a built image is in its life. A `building` row whose owner process is alive is the lock that
/// makes concurrent creates of one profile share one build.
public enum ImageState: String, Sendable, CaseIterable, Codable {
    case building, ready, failed
}

/// An image in the host's cache: one build of a profile's template, keyed by the content of
/// everything that went into it (`ImageCacheKey`).
public struct Image: Sendable, Equatable {
    /// `img-` and 16 hex digits.
    public var id: String
    /// The profile it was built for.
    public var profile: String
    /// The builder (name in `Config.builders`) that built it.
    public var builder: String
    /// sha256 hex of the build's inputs (`ImageCacheKey`).
    public var cacheKey: String
    public var state: ImageState
    /// The built files, each moved to `<data_dir>/images/sha256/<hex>` (their `path`).
    public var artifacts: [BuildArtifact]
    /// Sum of the artifacts' sizes.
    public var sizeBytes: Int64
    /// The host's copy of the build log (every line the builder logged), kept after the build.
    public var logPath: String?
    /// Why the build failed: one line naming the step.
    public var error: String?
    /// The process running the build (while `building`): pid and start time.
    package var owner: ProcessIdentity?
    public var createdAt: Date
    public var updatedAt: Date
    /// When a create last booted it (nil: never); `prune-images` evicts the least recently used.
    public var lastUsedAt: Date?
    /// How many sandboxes not destroyed or failed booted it (read from the store, never written):
    /// while above zero, `image-rm` refuses without force and `prune-images` keeps it.
    public var pins: Int

    package init(id: String, profile: String, builder: String, cacheKey: String, state: ImageState,
                 artifacts: [BuildArtifact] = [], sizeBytes: Int64 = 0, logPath: String? = nil, error: String? = nil,
                 owner: ProcessIdentity? = nil, createdAt: Date, updatedAt: Date, lastUsedAt: Date? = nil, pins: Int = 0) {
        self.id = id; self.profile = profile; self.builder = builder; self.cacheKey = cacheKey; self.state = state
        self.artifacts = artifacts; self.sizeBytes = sizeBytes; self.logPath = logPath; self.error = error
        self.owner = owner; self.createdAt = createdAt; self.updatedAt = updatedAt; self.lastUsedAt = lastUsedAt
        self.pins = pins
    }
}

/// Image ids: `img-` and 16 lowercase hex digits. Build ids (`bld-…`) name the run of a build.
public enum ImageID {
    public static func make() -> String { PrefixedHexID.make("img-") }
    public static func isWellFormed(_ id: String) -> Bool { PrefixedHexID.isWellFormed(id, prefix: "img-") }
    /// The build id of an image's build: the same hex digits under `bld-`.
    public static func buildId(of imageId: String) -> String { "bld-" + imageId.dropFirst(4) }
}

extension Image {
    /// The image as both fronts print it: snake_case keys, RFC 3339 UTC times, null when unset.
    public var jsonValue: JSONValue {
        .object([
            "id": .string(id), "profile": .string(profile), "builder": .string(builder), "cache_key": .string(cacheKey),
            "state": .string(state.rawValue), "size_bytes": .number(Double(sizeBytes)),
            "artifacts": .array(artifacts.map { a in
                .object(["kind": .string(a.kind), "path": .string(a.path), "digest": .string(a.digest),
                         "size_bytes": .number(Double(a.sizeBytes))])
            }),
            "log_path": logPath.map { .string($0) } ?? .null, "error": error.map { .string($0) } ?? .null,
            "created_at": .string(RFC3339.format(createdAt)), "updated_at": .string(RFC3339.format(updatedAt)),
            "last_used_at": lastUsedAt.map { .string(RFC3339.format($0)) } ?? .null,
            "pins": .number(Double(pins)),
        ])
    }
}
