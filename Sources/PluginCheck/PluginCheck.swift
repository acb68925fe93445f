import FoundationEssentials
import Glibc
import Core
import Backends
import PluginProtocol

/// `sandboxer plugin check`: the conformance suite a backend author runs against a built library.
///
/// It loads the library exactly as the host does (`PluginLoader`), then checks every MUST of the
/// header and docs/plugins.md that a program can: version negotiation, `describe`, not_implemented
/// for unknown and undeclared operations, invalid_request for malformed JSON, unknown fields
/// ignored, a create → status → exec → destroy round trip, idempotent destroy, ownership labels in
/// inventory, set_timeout, snapshots, concurrent calls, `result_free` of an empty result, and that
/// every answer is UTF-8 JSON from the closed list of codes. Each rule passes, fails or is skipped
/// with its reason. Sandboxes it makes are destroyed before it returns, whatever happened.
public enum PluginCheck {
    /// What to check and how.
    public struct Options: Sendable {
        /// Absolute path of the library.
        public var path: String
        /// The backend config handed to `instance_create` (the `config:` block of a host config).
        public var config: JSONValue
        /// Threads and calls per thread of the concurrency rule.
        public var threads: Int
        public var callsPerThread: Int
        /// Secrets the plugin may look up by name (the host resolves them from its environment).
        public var secret: @Sendable (String) -> String?
        /// Where the plugin's log lines go.
        public var log: @Sendable (PluginLogLine) -> Void
        /// A builder's test template (`--build-template`): it builds quickly, leaving at least one file.
        public var buildTemplate: String?
        /// A builder's template that runs until cancelled (`--build-cancel-template`), for `build.cancel`.
        public var buildCancelTemplate: String?
        /// How long `build.cancel` lets the build run before it cancels, and how long the plugin then
        /// has to stop (seconds).
        public var buildCancelAfter: Double = 3
        public var buildStopGrace: Double = 30

        public init(path: String, config: JSONValue = .object([:]), threads: Int = 8, callsPerThread: Int = 25,
                    secret: @escaping @Sendable (String) -> String? = { _ in nil },
                    log: @escaping @Sendable (PluginLogLine) -> Void = { _ in }) {
            self.path = path
            self.config = config
            self.threads = threads
            self.callsPerThread = callsPerThread
            self.secret = secret
            self.log = log
        }
    }

    /// Every rule id, in the order the rules run (docs/plugins.md explains each).
    public static let rules = [
        "load.entry", "load.refuses-other-major", "result.free-empty", "instance.create", "describe.shape",
        "describe.role", "request.unknown-operation", "request.undeclared-capability", "request.malformed-json",
        "lifecycle.create", "lifecycle.status", "request.unknown-fields", "exec.run",
        "exec-stream.output", "exec-stream.stdin", "exec-stream.kill", "exec-stream.release", "timeout.set",
        "inventory.labels", "concurrency.invoke", "snapshot.take", "snapshot.restore", "snapshot.delete",
        "lifecycle.destroy", "lifecycle.status-after-destroy", "lifecycle.destroy-twice", "lifecycle.unknown-ref",
        "build.invalid-template", "build.artifact", "build.cancel",
        "response.wellformed",
    ]

    /// Runs every rule against the library; `progress` sees each result as it is decided.
    public static func run(_ options: Options, progress: @escaping (RuleResult) -> Void = { _ in }) -> PluginCheckReport {
        let session = CheckSession(options: options, progress: progress)
        session.run()
        return session.report
    }
}
