import Foundation
import PluginKit

/// The Modal backend's configuration, read from the host config's backend object.
///
/// The token id and secret are never in it: it names them, and the plugin asks the host's
/// `secret_lookup` for their values.
struct ModalConfig: Sendable, Equatable {
    /// `https://api.modal.com`, or `http://` (plaintext h2c) to a loopback address only.
    var serverURL = "https://api.modal.com"
    /// Host secret names of the token id and the token secret.
    var tokenIDSecret = "modal-token-id"
    var tokenSecretSecret = "modal-token-secret"
    /// The Modal app that owns our sandboxes (created if missing).
    var app = "sandboxer"
    /// Modal environment name; nil means the workspace's default.
    var environment: String?
    /// Registry tag of the image used when a profile sets none.
    var image = "debian:bookworm-slim"
    /// Container ports tunnelled with TLS (HTTPS endpoints) and as raw TCP, declared at create:
    /// Modal opens tunnels only for the ports a sandbox was created with.
    var encryptedPorts: [UInt32] = []
    var unencryptedPorts: [UInt32] = []
    /// Seconds one unary call may take before it is abandoned (and, where safe, retried).
    var callTimeout: Double = 30

    /// Known keys. `data_dir` is added by the host to every backend's config; this plugin keeps no
    /// local state, so it is accepted and unused.
    static let keys: Set<String> = ["server_url", "token_id_secret", "token_secret_secret", "app", "environment", "image",
                                    "encrypted_ports", "unencrypted_ports", "call_timeout_seconds", "data_dir"]

    init() {}

    init(json: JSONValue) throws(PluginError) {
        guard let object = json.objectValue else {
            throw PluginError(.invalidRequest, "The modal backend config must be a JSON object.")
        }
        if let unknown = object.keys.filter({ !Self.keys.contains($0) }).sorted().first {
            throw PluginError(.invalidRequest, "The modal backend config has an unknown key '\(unknown)' (known: \(Self.keys.sorted().joined(separator: ", "))).")
        }
        serverURL = try Self.string(object, "server_url") ?? serverURL
        while serverURL.hasSuffix("/") { serverURL.removeLast() }
        guard serverURL.hasPrefix("https://") || serverURL.hasPrefix("http://") else {
            throw PluginError(.invalidRequest, "The modal 'server_url' must start with https:// (or http:// for a loopback stand-in).")
        }
        tokenIDSecret = try Self.string(object, "token_id_secret") ?? tokenIDSecret
        tokenSecretSecret = try Self.string(object, "token_secret_secret") ?? tokenSecretSecret
        app = try Self.string(object, "app") ?? app
        environment = try Self.string(object, "environment")
        image = try Self.string(object, "image") ?? image
        encryptedPorts = try Self.ports(object, "encrypted_ports")
        unencryptedPorts = try Self.ports(object, "unencrypted_ports")
        if let both = Set(encryptedPorts).intersection(unencryptedPorts).sorted().first {
            throw PluginError(.invalidRequest, "Port \(both) is listed in both 'encrypted_ports' and 'unencrypted_ports' of the modal backend config.")
        }
        if let value = object["call_timeout_seconds"], value != .null {
            guard let n = value.numberValue, n > 0, n <= 600 else {
                throw PluginError(.invalidRequest, "The modal 'call_timeout_seconds' must be a number of seconds above 0 and at most 600.")
            }
            callTimeout = n
        }
    }

    /// Every port declared at create, in the order Modal gets them.
    var portSpecs: [PortSpec] {
        encryptedPorts.map { PortSpec(port: $0, unencrypted: false) } + unencryptedPorts.map { PortSpec(port: $0, unencrypted: true) }
    }

    /// A non-empty string value, nil when absent or null.
    static func string(_ object: [String: JSONValue], _ key: String) throws(PluginError) -> String? {
        guard let value = object[key], value != .null else { return nil }
        guard let text = value.stringValue, !text.isEmpty, text.utf8.count <= 1024 else {
            throw PluginError(.invalidRequest, "The modal '\(key)' must be a non-empty string.")
        }
        return text
    }

    /// A list of distinct TCP ports (1…65535).
    static func ports(_ object: [String: JSONValue], _ key: String) throws(PluginError) -> [UInt32] {
        guard let value = object[key], value != .null else { return [] }
        guard let items = value.arrayValue, items.count <= 64 else {
            throw PluginError(.invalidRequest, "The modal '\(key)' must be a list of at most 64 TCP ports.")
        }
        var ports: [UInt32] = []
        for item in items {
            guard let n = item.numberValue, n.rounded() == n, n >= 1, n <= 65535, !ports.contains(UInt32(n)) else {
                throw PluginError(.invalidRequest, "The modal '\(key)' must list distinct TCP ports from 1 to 65535.")
            }
            ports.append(UInt32(n))
        }
        return ports
    }
}
