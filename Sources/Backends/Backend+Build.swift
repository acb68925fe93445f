import Dispatch
import FoundationEssentials
import Glibc
import Basics
import Core
import PluginProtocol

// The builder side of a plugin (`sandboxer.build/1`). A builder-only library declares no lifecycle:
// the loader and `makeBackend` never require `sandboxer.lifecycle/1`, so a `Backend` made from it
// is fine as long as only `describe` and `build` are called on it.
extension Backend {
    /// The host's built-in deadline for a `build` (seconds) when the caller names none: an image
    /// build runs for minutes. A builder's `timeouts:` map entry `build` (or `default`) replaces it.
    public static let defaultBuildTimeout: Double = 3600
    /// After cancelling a build, how long the host waits for the builder to stop what it started.
    public static let defaultBuildStopGrace: Double = 30

    /// Whether the plugin declared `sandboxer.build/1`.
    public var isBuilder: Bool { has(Capability.build) }

    /// `build`: runs a template into `output_dir` and answers the artifacts it left there.
    ///
    /// Only on a builder: otherwise `not_implemented` without calling the plugin. When the deadline
    /// passes or `cancel` answers true (polled every 100 ms), the call is marked cancelled and the
    /// host waits up to `stopGrace` more for the builder to stop (packer and everything it started),
    /// so a caller that then removes `output_dir` does not race a build still writing there; it
    /// throws `.timeout` or `.cancelled`, saying whether the builder stopped in time. Every artifact
    /// must be a file inside `output_dir` with a `sha256:` digest and a size, else `.garbage`.
    public func build(_ r: BuildRequest, timeout: Double? = Backend.defaultBuildTimeout,
                      stopGrace: Double = Backend.defaultBuildStopGrace,
                      cancel: (@Sendable () -> Bool)? = nil) throws(BackendError) -> BuildResponse {
        guard isBuilder else {
            throw BackendError(.notImplemented, "Backend \(name) is not a builder: it does not declare \(Capability.build).",
                               backend: name, operation: Operation.build)
        }
        let body = try Backend.encode(r, backend: name, operation: Operation.build)
        let run = cancellableCall(Operation.build, body, timeout: deadlines.resolve(Operation.build, requested: timeout),
                                  stopGrace: stopGrace, cancel: cancel)
        let response = try Backend.decode(BuildResponse.self, run.result.get(), backend: name, operation: Operation.build)
        if let broken = Self.contractBreach(response, outputDir: r.outputDir) {
            throw BackendError(.garbage, "The plugin's 'build' response breaks the contract: \(broken)", backend: name, operation: Operation.build)
        }
        return response
    }

    /// How a cancellable call ended: the host's view of the answer, and, when the host cancelled
    /// it, whether the plugin answered within the stop grace (nil: not cancelled).
    package struct CancellableOutcome {
        package var result: Result<Data, BackendError>
        package var stoppedInTime: Bool?
    }

    /// Runs `operation` on its own thread; on the deadline or `cancel`, marks it cancelled and
    /// waits up to `stopGrace` for the plugin to return. Used by `build` and by `plugin check`.
    package func cancellableCall(_ operation: String, _ body: Data, timeout: Double?, stopGrace: Double,
                                 cancel: (@Sendable () -> Bool)?) -> CancellableOutcome {
        let run = instance.cancellableReply(operation, body, timeout: timeout, stopGrace: stopGrace, cancel: cancel)
        if let failure = run.failure {
            return CancellableOutcome(result: .failure(BackendError(.unavailable, failure, backend: name, operation: operation)), stoppedInTime: nil)
        }
        guard let why = run.stoppedBecause else {
            guard let reply = run.reply else {
                return CancellableOutcome(result: .failure(BackendError(.internal, "The call ended without an answer.", backend: name, operation: operation)), stoppedInTime: nil)
            }
            return CancellableOutcome(result: Result { () throws(BackendError) in try instance.interpret(reply, operation: operation) }, stoppedInTime: nil)
        }
        let cause = why == .timeout ? "The call did not finish within \(String(cFormat: "%g", timeout ?? 0)) s; the host cancelled it"
                                    : "The host cancelled the call"
        let after = run.stoppedInTime ? "and the plugin stopped within \(String(cFormat: "%g", stopGrace)) s."
                                      : "but the plugin had not stopped \(String(cFormat: "%g", stopGrace)) s later; the host stopped waiting."
        return CancellableOutcome(result: .failure(BackendError(why, "\(cause) \(after)", backend: name, operation: operation)),
                                  stoppedInTime: run.stoppedInTime)
    }

    /// Why a build answer breaks the contract (docs/plugins.md, `build`), or nil when it keeps it.
    package static func contractBreach(_ r: BuildResponse, outputDir: String) -> String? {
        guard r.artifacts.count <= 256 else { return "\(r.artifacts.count) artifacts (at most 256)." }
        guard r.logPath.isEmpty || r.logPath.hasPrefix("/") else { return "log_path \(r.logPath.prefix(200)) is not absolute." }
        let root = (outputDir).standardizingPath + "/"
        for a in r.artifacts {
            let path = (a.path).standardizingPath
            guard a.path.hasPrefix("/"), path.hasPrefix(root) else {
                return "the artifact \(a.path.prefix(200)) is not inside output_dir \(outputDir)."
            }
            guard !a.kind.isEmpty, a.kind.count <= 64 else { return "the artifact \(a.path.prefix(200)) has no kind." }
            let hex = a.digest.dropFirst(7)
            guard a.digest.hasPrefix("sha256:"), hex.utf8.count == 64,
                  hex.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else {
                return "the artifact \(a.path.prefix(200)) has the digest '\(a.digest.prefix(80))', not sha256: and 64 lowercase hex digits."
            }
            guard a.sizeBytes >= 0 else { return "the artifact \(a.path.prefix(200)) has a negative size." }
        }
        return nil
    }
}
