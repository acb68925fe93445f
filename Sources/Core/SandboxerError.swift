import Basics
import PluginProtocol
/// The error every front (CLI, HTTP) reports: a code that maps to an exit code and an HTTP status,
/// and one full sentence for a person. Secrets never go into `message`.
public struct SandboxerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is. New codes may be added; fronts map unknown ones to `internal`.
    public enum Code: String, Sendable, CaseIterable {
        /// The command line or request is malformed (CLI exit 2, HTTP 400).
        case usage
        /// A value was well-formed but not acceptable (HTTP 422).
        case invalidArgument = "invalid_argument"
        /// No such sandbox, profile or backend (HTTP 404).
        case notFound = "not_found"
        /// The sandbox's state forbids the operation (HTTP 409).
        case conflict
        /// The configuration file is wrong.
        case config
        /// A plugin could not be loaded.
        case plugin
        /// The backend refused or failed (HTTP 502/503).
        case backend
        /// The backend is unreachable or timed out; retrying may help (HTTP 503).
        case unavailable
        /// The store (SQLite) failed.
        case store
        /// A bug or an unexpected condition.
        case `internal`
        /// A built image is still booted by live sandboxes, so it is not removed without force (HTTP 409).
        case imageInUse = "image_in_use"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// The CLI exit code (README, "Exit codes"): 2 for usage errors and malformed values, 3 when a
    /// backend refused or failed an operation, 4 when a backend is unavailable or timed out (a retry
    /// may help), 1 for every other failure. A backend's answer never exits 2: that is the caller's.
    public var exitCode: Int32 {
        switch code {
        case .usage, .invalidArgument: 2
        case .backend: 3
        case .unavailable: 4
        default: 1
        }
    }
}
