import FoundationEssentials
import Glibc
import PluginProtocol

/// Who a backend's plugin is: what its table said when it was loaded (in this process or in its runner).
public struct PluginIdentity: Sendable, Equatable {
    /// The path the plugin was loaded from, as given.
    public let path: String
    /// The plugin's name from its table.
    public let name: String
    /// The plugin's version from its table.
    public let version: String
    /// The plugin's ABI major version (always the host's).
    public let abiMajor: UInt32
    /// The plugin's ABI minor version (may differ from the host's).
    public let abiMinor: UInt32
}

/// How a `Backend` reaches its plugin instance: in this process (`PluginInstance`) or in a plugin
/// runner child (`RemotePluginChannel`). `Backend`'s typed calls are the same over either.
protocol PluginChannel: AnyObject, Sendable {
    /// The plugin behind the channel.
    var plugin: PluginIdentity { get }
    /// The backend's name in the host config, for error messages.
    var backend: String { get }
    /// Success responses above this many bytes are refused without being copied.
    var maxResponseBytes: Int { get }
    /// Runs `operation` and returns what the plugin answered, uninterpreted; throws `.timeout` past
    /// `timeout` (nil: no deadline), and `.unavailable` when the plugin's process died or was stopped.
    func reply(_ operation: String, _ request: Data, timeout: Double?) throws(BackendError) -> PluginReply
    /// Like `reply`, but the caller may cancel (polled every 100 ms); on that or the deadline the
    /// plugin sees `is_cancelled` and gets `stopGrace` seconds to return (see `CancellableReply`).
    func cancellableReply(_ operation: String, _ request: Data, timeout: Double?, stopGrace: Double,
                          cancel: (@Sendable () -> Bool)?) -> CancellableReply
}

extension PluginChannel {
    /// Runs `operation` and interprets the answer.
    func call(_ operation: String, _ request: Data, timeout: Double?) throws(BackendError) -> Data {
        try interpret(reply(operation, request, timeout: timeout), operation: operation)
    }

    /// Turns a code and bytes into a response or a BackendError.
    func interpret(_ outcome: PluginReply, operation: String) throws(BackendError) -> Data {
        if outcome.brokenBuffer {
            throw BackendError(.garbage, "The plugin returned a result with no data but a length of bytes.", backend: backend, operation: operation)
        }
        if outcome.oversized {
            throw BackendError(.internal, "The plugin returned a response larger than the \(PluginLimits.describe(bytes: maxResponseBytes)) the host accepts (\(outcome.length) bytes); the host refused it (see max_response in docs/configuration.md).",
                               backend: backend, operation: operation)
        }
        if outcome.code == PluginError.successCode {
            guard JSONValue.isObject(outcome.bytes) else {
                throw BackendError(.garbage, "The plugin's response is not a JSON object (\(outcome.bytes.count) bytes).", backend: backend, operation: operation)
            }
            return outcome.bytes
        }
        guard let code = BackendError.Code(abiCode: outcome.code) else {
            throw BackendError(.garbage, "The plugin returned code \(outcome.code), which is not in the ABI's closed list (\(PluginError.successCode)–\(PluginError.Code.allCases.map(\.rawValue).max() ?? 0)).", backend: backend, operation: operation)
        }
        let message = outcome.message
        throw BackendError(code, message.isEmpty ? "The plugin gave no reason." : message, backend: backend, operation: operation)
    }
}
