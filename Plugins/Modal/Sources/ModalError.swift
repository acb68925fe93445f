import GRPCClient
import PluginKit

/// How Modal's gRPC statuses become the ABI's error codes (docs/backends/modal.md, "Errors").
///
/// Messages name the method and the token id, never the token secret (the gRPC client never puts
/// metadata values in its statuses, and the plugin never formats the secret).
enum ModalError {
    /// Whether a failed call may be tried again: the server was unreachable, overloaded or slow.
    /// Only idempotent calls are retried (the caller decides that).
    static func isRetryable(_ status: GRPCStatus) -> Bool {
        status.code == .unavailable || status.code == .deadlineExceeded || isConnectionLoss(status)
    }

    /// A call the transport cut: the client saw the stream end (a reset, a closed connection)
    /// without any gRPC status from the server.
    static func isConnectionLoss(_ status: GRPCStatus) -> Bool {
        !status.fromServer && status.code == .unknown
    }

    /// The plugin error for a status Modal (or the transport) gave `method`.
    static func map(_ status: GRPCStatus, method: String, tokenID: String) -> PluginError {
        let detail = clip(status.message)
        let said = detail.isEmpty ? "" : ": \(detail)"
        if isConnectionLoss(status) {
            return PluginError(.unavailable, "Modal is unavailable: the connection was lost during \(method)\(said).")
        }
        switch status.code {
        case .unauthenticated, .permissionDenied:
            return PluginError(.invalidRequest, "Modal refused token id \(tokenID) on \(method) (\(status.code.name))\(said); check the modal backend's token_id_secret and token_secret_secret.")
        case .notFound:
            return PluginError(.notFound, "Modal has no such resource (\(method))\(said).")
        case .resourceExhausted:
            return PluginError(.quota, "Modal refused \(method) for a quota or limit (RESOURCE_EXHAUSTED)\(said).")
        case .unavailable, .deadlineExceeded:
            return PluginError(.unavailable, "Modal is unavailable: \(method) failed with \(status.code.name)\(said).")
        case .cancelled:
            return PluginError(.unavailable, "The call \(method) to Modal was cancelled\(said).")
        case .invalidArgument:
            return PluginError(.invalidRequest, "Modal refused \(method) as invalid\(said).")
        case .failedPrecondition:
            return PluginError(.conflict, "Modal refused \(method) in the sandbox's current state (FAILED_PRECONDITION)\(said).")
        default:
            return PluginError(.internal, "Modal answered \(status.code.name) to \(method)\(said).")
        }
    }

    /// A server message as one short line: servers may send anything.
    static func clip(_ text: String, limit: Int = 300) -> String {
        var line = String(text.map { $0.isNewline || $0 == "\t" ? " " : $0 })
        line = line.trimmingCharacters(in: .whitespaces)
        while line.hasSuffix(".") { line.removeLast() }
        return line.count > limit ? String(line.prefix(limit)) + "…" : line
    }
}
