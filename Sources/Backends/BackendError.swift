import Core
import Config
import PluginProtocol
import Basics

/// A failed call into a backend: a code from the ABI's closed list, or one the host adds
/// (`timeout` when the call outlived its deadline, `garbage` when the plugin broke the contract).
public struct BackendError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The ABI's codes (`sbx_code`) plus the host's own `timeout` and `garbage`.
    public enum Code: String, Sendable, CaseIterable {
        case notImplemented = "not_implemented"
        case notFound = "not_found"
        case invalidRequest = "invalid_request"
        case conflict
        case unavailable
        case quota
        case `internal`
        /// The plugin stopped because the host cancelled the call (ABI 1.1 `SBX_CANCELLED`): not an outage.
        case cancelled
        /// The host gave up waiting; the plugin saw the call cancelled.
        case timeout
        /// The plugin answered something the contract does not allow (bad JSON, unknown code…).
        case garbage

        /// The code for an ABI result code; nil for success or anything outside the closed list.
        public init?(abiCode: Int32) {
            guard let code = PluginError.Code(rawValue: abiCode) else { return nil }
            self.init(code)
        }

        /// The same code as PluginKit names it, for the codes the ABI defines.
        public init(_ code: PluginError.Code) {
            switch code {
            case .notImplemented: self = .notImplemented
            case .notFound: self = .notFound
            case .invalidRequest: self = .invalidRequest
            case .conflict: self = .conflict
            case .unavailable: self = .unavailable
            case .quota: self = .quota
            case .internal: self = .internal
            case .cancelled: self = .cancelled
            }
        }
    }

    /// What kind of failure this is.
    public var code: Code
    /// One sentence: the plugin's own message, or the host's account of what went wrong.
    public var message: String
    /// The backend's name in the host config (e.g. "localvm").
    public var backend: String
    /// The operation that failed (e.g. "create").
    public var operation: String

    public init(_ code: Code, _ message: String, backend: String, operation: String) {
        self.code = code
        self.message = message
        self.backend = backend
        self.operation = operation
    }

    /// Whether trying again later may succeed.
    public var isRetryable: Bool { code == .unavailable || code == .timeout }

    public var description: String {
        "Backend '\(backend)' failed '\(operation)' (\(code.rawValue)): \(message)"
    }
}
