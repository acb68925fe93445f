import FoundationEssentials
import Glibc

// The messages of capability `sandboxer.build/1` (operation `build`), and the fields through which a
// backend says which built artifacts it boots and a create names the artifact to boot. The host owns
// the image cache (keys, rows, content-addressed storage, pruning); a builder only turns a template
// into files under `output_dir` and reports them.

extension Operation {
    /// `build`: run a template into artifacts (capability `sandboxer.build/1`).
    public static let build = "build"
}

/// `build` request: build `template` with `vars` into `output_dir`.
public struct BuildRequest: Codable, Sendable, Equatable {
    /// Host-generated id of the build (`bld-` and 16 hex digits), for logs and cancellation.
    public var buildId: String
    /// Absolute path of a template file or of a directory of template files.
    public var template: String
    /// Variables passed to the template; `output_dir` is always among them (docs/images.md).
    public var vars: [String: String]
    /// An empty directory the host made for this build; artifacts are the files the builder leaves here.
    public var outputDir: String
    /// The cache key the host computed (sha256 hex); builders may log it, never recompute it.
    public var cacheKey: String
    public init(buildId: String, template: String, vars: [String: String], outputDir: String, cacheKey: String) {
        self.buildId = buildId; self.template = template; self.vars = vars
        self.outputDir = outputDir; self.cacheKey = cacheKey
    }
    enum CodingKeys: String, CodingKey {
        case buildId = "build_id", template, vars, outputDir = "output_dir", cacheKey = "cache_key"
    }
}

/// One file a build produced, or the one a create boots.
public struct BuildArtifact: Codable, Sendable, Equatable {
    /// What the file is, e.g. `rootfs-tar` (a tar of a root filesystem) or `qcow2`.
    public var kind: String
    /// Absolute path of the file.
    public var path: String
    /// `sha256:` and 64 lowercase hex digits of the file's bytes.
    public var digest: String
    public var sizeBytes: Int64
    public init(kind: String, path: String, digest: String, sizeBytes: Int64) {
        self.kind = kind; self.path = path; self.digest = digest; self.sizeBytes = sizeBytes
    }
    enum CodingKeys: String, CodingKey { case kind, path, digest, sizeBytes = "size_bytes" }
}

/// `build` response: the artifacts left in `output_dir` and the builder's full log.
public struct BuildResponse: Codable, Sendable, Equatable {
    public var artifacts: [BuildArtifact]
    /// Absolute path of the build's complete log (progress lines also go through the host's log callback).
    public var logPath: String
    public init(artifacts: [BuildArtifact], logPath: String) { self.artifacts = artifacts; self.logPath = logPath }
    enum CodingKeys: String, CodingKey { case artifacts, logPath = "log_path" }
}
