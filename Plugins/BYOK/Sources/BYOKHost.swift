import Foundation
import PluginKit

/// One operator host in the byok config: where it is, how to log in, its pinned key, capacity, labels.
public struct BYOKHost: Sendable, Equatable {
    public var name: String
    public var address: String
    public var port: Int = 22
    public var user: String
    /// The pinned host key, `TYPE BASE64` (a trailing comment is dropped): an unknown or changed key is refused.
    public var hostKey: String
    /// Most live sandboxes this host takes.
    public var capacity: Int = 8
    /// Labels a profile's `placement` is matched against.
    public var labels: [String: String] = [:]
    /// Where the node helper keeps its state on the host.
    public var nodeDir: String = "/var/lib/sandboxer-node"

    static let keys: Set<String> = ["name", "address", "port", "user", "host_key", "capacity", "labels", "node_dir"]
    static let keyTypes: Set<String> = ["ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
                                        "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
                                        "sk-ecdsa-sha2-nistp256@openssh.com"]

    /// The alias the generated ssh config knows this host by (also its known_hosts name).
    public var alias: String { "byok-" + name }

    /// Parses one entry of `hosts`.
    init(json: JSONValue, index: Int) throws(PluginError) {
        guard let object = json.objectValue else {
            throw PluginError(.invalidRequest, "Entry \(index + 1) of the byok 'hosts' must be an object.")
        }
        guard let name = object["name"]?.stringValue, Self.isSafeName(name, max: 64) else {
            throw PluginError(.invalidRequest, "Entry \(index + 1) of the byok 'hosts' needs 'name': 1 to 64 letters, digits, '.', '_' or '-'.")
        }
        self.name = name
        let what = "The byok host '\(name)'"
        if let unknown = object.keys.filter({ !Self.keys.contains($0) }).sorted().first {
            throw PluginError(.invalidRequest, "\(what) has an unknown key '\(unknown)' (known: \(Self.keys.sorted().joined(separator: ", "))).")
        }
        guard let address = object["address"]?.stringValue, Self.isAddress(address) else {
            throw PluginError(.invalidRequest, "\(what) needs 'address': a host name or IP address (letters, digits, '.', '-', ':').")
        }
        self.address = address
        if let p = object["port"], p != .null {
            guard let n = p.numberValue, n.rounded() == n, n >= 1, n <= 65535 else {
                throw PluginError(.invalidRequest, "\(what) has an invalid 'port': a whole number from 1 to 65535.")
            }
            port = Int(n)
        }
        guard let user = object["user"]?.stringValue, Self.isSafeName(user, max: 32), !user.hasPrefix("-") else {
            throw PluginError(.invalidRequest, "\(what) needs 'user': the login account (letters, digits, '.', '_' or '-').")
        }
        self.user = user
        guard let key = object["host_key"]?.stringValue, let pinned = Self.pinnedKey(key) else {
            throw PluginError(.invalidRequest, "\(what) needs 'host_key', its pinned public host key as 'TYPE BASE64' (for example the line of /etc/ssh/ssh_host_ed25519_key.pub).")
        }
        hostKey = pinned
        if let c = object["capacity"], c != .null {
            guard let n = c.numberValue, n.rounded() == n, n >= 1, n <= 10_000 else {
                throw PluginError(.invalidRequest, "\(what) has an invalid 'capacity': a whole number from 1 to 10000.")
            }
            capacity = Int(n)
        }
        if let l = object["labels"], l != .null {
            guard let map = l.objectValue else {
                throw PluginError(.invalidRequest, "\(what) has invalid 'labels': a mapping of names to strings.")
            }
            for (k, v) in map {
                guard !k.isEmpty, let s = v.stringValue else {
                    throw PluginError(.invalidRequest, "\(what) has an invalid label '\(k)': labels map non-empty names to strings.")
                }
                labels[k] = s
            }
        }
        if let d = object["node_dir"], d != .null {
            guard let dir = d.stringValue, dir.hasPrefix("/"), dir.count > 1, Self.isSafePath(dir) else {
                throw PluginError(.invalidRequest, "\(what) has an invalid 'node_dir': an absolute path of letters, digits, '/', '.', '_' or '-'.")
            }
            nodeDir = dir.hasSuffix("/") ? String(dir.dropLast()) : dir
        }
    }

    /// `TYPE BASE64` of a public key line (a comment dropped); nil when it is not one.
    static func pinnedKey(_ text: String) -> String? {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count >= 2, keyTypes.contains(String(parts[0])), parts[1].count >= 16, parts[1].count <= 4096,
              parts[1].utf8.allSatisfy({ c in
                  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2b || c == 0x2f || c == 0x3d
              }), Data(base64Encoded: String(parts[1])) != nil else { return nil }
        return "\(parts[0]) \(parts[1])"
    }

    /// A single name of ASCII letters, digits, '.', '_' and '-'.
    static func isSafeName(_ s: String, max: Int) -> Bool {
        guard !s.isEmpty, s.utf8.count <= max, s != ".", s != ".." else { return false }
        return s.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2e || c == 0x5f || c == 0x2d
        }
    }

    /// A path safe to write into an ssh config and a remote shell line: names joined by '/'.
    static func isSafePath(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 512 else { return false }
        return s.split(separator: "/").allSatisfy { isSafeName(String($0), max: 255) } && !s.contains("//")
    }

    /// A DNS name or an IPv4/IPv6 literal, never starting with '-' (it goes on ssh's command line).
    static func isAddress(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 253, !s.hasPrefix("-") else { return false }
        return s.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2e || c == 0x2d || c == 0x3a
        }
    }
}
