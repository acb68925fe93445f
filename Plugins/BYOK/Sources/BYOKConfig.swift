import Foundation
import PluginKit

/// The BYOK backend's configuration, read from the host config's backend object.
///
/// The private key is never in it: `identity_file` names a 0600 file of ours, or `key_secret` names a
/// host secret whose value the plugin writes to a 0600 file only while a connection authenticates.
public struct BYOKConfig: Sendable, Equatable {
    /// Where the key comes from.
    public enum Key: Sendable, Equatable {
        case file(String)
        case secret(String)
    }

    public var key: Key
    public var hosts: [BYOKHost]
    /// Root of what this plugin keeps locally: ssh config, known_hosts, images, snapshots.
    public var dataDir: String
    /// `ServerAliveInterval` / `ServerAliveCountMax` of each master: a dead link is noticed after about
    /// interval × (count + 1) seconds.
    public var serverAliveInterval: Int = 5
    public var serverAliveCountMax: Int = 3
    /// `ConnectTimeout` of a new connection, seconds.
    public var connectTimeout: Int = 5
    /// The node helper to push to each host; nil: `sandboxer-node` next to the plugin library.
    public var nodeHelper: String?

    static let keys: Set<String> = ["identity_file", "key_secret", "hosts", "data_dir", "server_alive_interval",
                                    "server_alive_count_max", "connect_timeout_seconds", "node_helper"]

    /// Parses and checks the backend config object.
    public init(json: JSONValue) throws(PluginError) {
        guard let object = json.objectValue else {
            throw PluginError(.invalidRequest, "The byok backend config must be a JSON object.")
        }
        if let unknown = object.keys.filter({ !Self.keys.contains($0) }).sorted().first {
            throw PluginError(.invalidRequest, "The byok backend config has an unknown key '\(unknown)' (known: \(Self.keys.sorted().joined(separator: ", "))).")
        }
        guard let dir = object["data_dir"]?.stringValue, dir.hasPrefix("/"), BYOKHost.isSafePath(dir) else {
            throw PluginError(.invalidRequest, "The byok backend config needs 'data_dir', an absolute path without spaces or quotes (the host sets it).")
        }
        dataDir = dir.count > 1 && dir.hasSuffix("/") ? String(dir.dropLast()) : dir
        switch (object["identity_file"]?.stringValue, object["key_secret"]?.stringValue) {
        case (let path?, nil):
            guard path.hasPrefix("/"), BYOKHost.isSafePath(path) else {
                throw PluginError(.invalidRequest, "The byok 'identity_file' must be an absolute path without spaces or quotes.")
            }
            key = .file(path)
        case (nil, let name?):
            guard !name.isEmpty, name.utf8.count <= 256 else {
                throw PluginError(.invalidRequest, "The byok 'key_secret' must name a host secret (1 to 256 characters).")
            }
            key = .secret(name)
        case (.some, .some):
            throw PluginError(.invalidRequest, "The byok backend config sets both 'identity_file' and 'key_secret'; set exactly one.")
        case (nil, nil):
            throw PluginError(.invalidRequest, "The byok backend config needs 'identity_file' (a 0600 private key file of ours) or 'key_secret' (the name of a host secret holding the key).")
        }
        guard let list = object["hosts"]?.arrayValue, !list.isEmpty else {
            throw PluginError(.invalidRequest, "The byok backend config needs 'hosts', a non-empty list of hosts.")
        }
        guard list.count <= 256 else {
            throw PluginError(.invalidRequest, "The byok backend config lists \(list.count) hosts; at most 256 are supported.")
        }
        var hosts: [BYOKHost] = []
        for (i, item) in list.enumerated() {
            let host = try BYOKHost(json: item, index: i)
            if hosts.contains(where: { $0.name == host.name }) {
                throw PluginError(.invalidRequest, "The byok host name '\(host.name)' is used twice; host names must be unique.")
            }
            hosts.append(host)
        }
        self.hosts = hosts
        serverAliveInterval = try Self.int(object, "server_alive_interval", default: 5, range: 1...300)
        serverAliveCountMax = try Self.int(object, "server_alive_count_max", default: 3, range: 1...30)
        connectTimeout = try Self.int(object, "connect_timeout_seconds", default: 5, range: 1...120)
        if let value = object["node_helper"], value != .null {
            guard let path = value.stringValue, path.hasPrefix("/") else {
                throw PluginError(.invalidRequest, "The byok 'node_helper' must be an absolute path.")
            }
            nodeHelper = path
        }
    }

    /// The host named `name`.
    public func host(_ name: String) -> BYOKHost? { hosts.first { $0.name == name } }

    static func int(_ object: [String: JSONValue], _ key: String, default value: Int,
                    range: ClosedRange<Int>) throws(PluginError) -> Int {
        guard let raw = object[key], raw != .null else { return value }
        guard let n = raw.numberValue, n.rounded() == n, n >= Double(range.lowerBound), n <= Double(range.upperBound) else {
            throw PluginError(.invalidRequest, "The byok '\(key)' must be a whole number from \(range.lowerBound) to \(range.upperBound).")
        }
        return Int(n)
    }
}
