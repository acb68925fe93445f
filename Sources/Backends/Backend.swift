import FoundationEssentials
import Glibc
import Core
import Config
import PluginProtocol
import Basics

/// One configured backend: an instance of a loaded plugin, with the capabilities it declared.
public final class Backend: @unchecked Sendable {
    // @unchecked: all stored properties are immutable; the plugin instance they reach is used only
    // through `invoke`, which the ABI requires plugins to make thread-safe.

    /// The backend's name in the host config (e.g. "localvm").
    public let name: String
    /// The plugin library this backend runs on.
    public var plugin: PluginIdentity { instance.plugin }
    /// Capability strings the plugin declared in `describe` (e.g. "sandboxer.exec/1").
    public let capabilities: [String]
    /// The deadline given to `makeBackend`, for callers that have no better one.
    public let defaultTimeout: Double
    /// The operator's per-operation deadlines for this backend (its `timeouts:` map).
    public let deadlines: BackendDeadlines

    let instance: any PluginChannel

    init(name: String, instance: any PluginChannel, capabilities: [String], defaultTimeout: Double,
         deadlines: BackendDeadlines = BackendDeadlines()) {
        self.name = name
        self.instance = instance
        self.capabilities = capabilities
        self.defaultTimeout = defaultTimeout
        self.deadlines = deadlines
    }

    /// Whether the plugin declared `capability` (exact string, revision included).
    public func has(_ capability: String) -> Bool {
        capabilities.contains(capability)
    }

    /// Raw call with a deadline: runs invoke on its own thread; if `timeout` passes, marks the call
    /// cancelled (is_cancelled -> 1) and throws `.timeout`; the stuck thread is abandoned. Response
    /// bytes that are not a JSON object, or a code outside the closed list, throw `.garbage`.
    /// A nil `timeout` runs the call on the caller's thread and waits as long as it takes. The
    /// backend's `timeouts:` map, when it names this operation (or a default), replaces `timeout`.
    public func invoke(_ operation: String, _ request: Data, timeout: Double?) throws(BackendError) -> Data {
        try instance.call(operation, request, timeout: deadlines.resolve(operation, requested: timeout))
    }

    /// Like `invoke`, with exactly `timeout` as the deadline (the `timeouts:` map does not apply).
    func invoke(_ operation: String, _ request: Data, exactTimeout timeout: Double?) throws(BackendError) -> Data {
        try instance.call(operation, request, timeout: timeout)
    }

    /// Runs one call and returns what the plugin answered before the host interprets it, and the
    /// host's interpretation: for `plugin check`, which judges the raw answer and the host's view.
    /// A call that outlives `timeout` gives no reply and the `.timeout` error.
    package func probe(_ operation: String, _ request: Data, timeout: Double?) -> (reply: PluginReply?, result: Result<Data, BackendError>) {
        do {
            let reply = try instance.reply(operation, request, timeout: timeout)
            do {
                return (reply, .success(try instance.interpret(reply, operation: operation)))
            } catch {
                return (reply, .failure(error))
            }
        } catch {
            return (nil, .failure(error))
        }
    }

    /// Reads a response with a hand-written reader (`init(json:)`, no Codable); an answer it refuses
    /// is the plugin's fault, worded as `decode` words it.
    package static func read<Response>(_ answer: Data, backend: String, operation: String,
                                       _ reader: (Data) throws(JSONFieldError) -> Response) throws(BackendError) -> Response {
        do {
            return try reader(answer)
        } catch {
            throw BackendError(.garbage, "The plugin's '\(operation)' response does not match the ABI's message: \(error).",
                               backend: backend, operation: operation)
        }
    }

    /// Decodes a response; a response that does not fit the message type is the plugin's fault.
    package static func decode<T: Decodable>(_ type: T.Type, _ data: Data, backend: String, operation: String) throws(BackendError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw BackendError(.garbage, "The plugin's '\(operation)' response does not match the ABI's message: \(Self.describe(decodingError: error)).",
                               backend: backend, operation: operation)
        }
    }

    /// Encodes a request; the message types always encode, so a failure here is a host bug.
    package static func encode<T: Encodable>(_ value: T, backend: String, operation: String) throws(BackendError) -> Data {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return try encoder.encode(value)
        } catch {
            throw BackendError(.internal, "The host could not encode the '\(operation)' request: \(error).", backend: backend, operation: operation)
        }
    }

    static func describe(decodingError error: Error) -> String { JSONFieldError.describe(decoding: error) }
}
