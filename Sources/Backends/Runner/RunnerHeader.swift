import FoundationEssentials
import Glibc
import PluginProtocol

/// The JSON header of one frame between the host and a plugin runner (docs/plugins.md, "Isolation").
///
/// Host → runner: `hello` (payload: `RunnerHello`), `call` (payload: the request), `cancel`,
/// `now_reply`, `secret_reply` (payload: the secret). Runner → host: `hello_ok` (payload:
/// `RunnerHelloOK`), `hello_error`, `reply` (payload: the bytes the host keeps), `log`, `now`, `secret`.
struct RunnerHeader: Codable, Sendable, Equatable {
    enum Kind: String, Codable, Sendable {
        case hello, helloOK = "hello_ok", helloError = "hello_error"
        case call, reply, cancel
        case log, now, nowReply = "now_reply", secret, secretReply = "secret_reply"
    }

    var type: Kind
    /// A call's id (host-chosen, used as the plugin's `call_id`) or a callback's id (runner-chosen).
    var id: UInt64?
    /// `call`: the operation. `hello_error`: the load error's code.
    var op: String?
    /// `call`: the deadline in seconds, for the record (the host enforces it).
    var timeout: Double?
    /// `reply`: the plugin's result code. `log`: the level.
    var code: Int32?
    /// `reply`: the length the plugin claimed (the payload holds what the host keeps).
    var length: Int?
    /// `reply`: NULL data with a non-zero length.
    var broken: Bool?
    /// `log` and `hello_error`: the text. `secret`: the secret's name.
    var message: String?
    /// `log`: the metadata JSON text.
    var metadata: String?
    /// `now_reply`: the host clock in ms since the epoch.
    var ms: Int64?
    /// `secret_reply`: whether the host has the secret.
    var found: Bool?

    init(_ type: Kind, id: UInt64? = nil) {
        self.type = type
        self.id = id
    }
}

/// What the host tells a fresh runner: which plugin to load and the backend's config (nothing else).
struct RunnerHello: Codable, Sendable {
    /// The protocol version; a runner of another version answers `hello_error`.
    var version: Int
    var path: String
    var backend: String
    var config: JSONValue
    var maxResponseBytes: Int

    enum CodingKeys: String, CodingKey {
        case version, path, backend, config
        case maxResponseBytes = "max_response_bytes"
    }
}

/// What a runner answers once its plugin is loaded and its instance created.
struct RunnerHelloOK: Codable, Sendable {
    var version: Int
    var name: String
    var pluginVersion: String
    var abiMajor: UInt32
    var abiMinor: UInt32

    enum CodingKeys: String, CodingKey {
        case version, name
        case pluginVersion = "plugin_version"
        case abiMajor = "abi_major"
        case abiMinor = "abi_minor"
    }
}
