import FoundationEssentials
import Glibc
import PluginKit

/// The create request's optional `network_options` for `network: "bridge"`:
/// `{"egress": "none"|"nat", "allow_sandboxes": false, "publish": [{"target_port", "host_port", "host_address"}]}`.
/// Unknown keys are ignored; a bad value is refused with one sentence.
struct NetworkOptions: Sendable, Equatable {
    /// What a sandbox may reach beyond its host: nothing, or anything through masquerading.
    enum Egress: String, Sendable { case none, nat }

    /// One port of the sandbox published on an address of the host.
    struct Publish: Sendable, Equatable, Codable {
        var targetPort: Int
        /// 0 asks for any free port.
        var hostPort: Int
        var hostAddress: String

        enum CodingKeys: String, CodingKey {
            case targetPort = "target_port", hostPort = "host_port", hostAddress = "host_address"
        }
    }

    var egress: Egress = .none
    var allowSandboxes = false
    var publish: [Publish] = []

    /// At most this many published ports per sandbox (each is a listening socket on the host).
    static let maxPublished = 32

    init(egress: Egress = .none, allowSandboxes: Bool = false, publish: [Publish] = []) {
        self.egress = egress; self.allowSandboxes = allowSandboxes; self.publish = publish
    }

    /// Reads `network_options` from a request (absent or null: the defaults).
    init(json: JSONValue?) throws(PluginError) {
        guard let json, json != .null else { return }
        guard case .object(let o) = json else {
            throw PluginError(.invalidRequest, "network_options must be a JSON object.")
        }
        if let e = o["egress"], e != .null {
            guard let s = e.stringValue, let egress = Egress(rawValue: s) else {
                throw PluginError(.invalidRequest, "network_options.egress must be \"none\" or \"nat\".")
            }
            self.egress = egress
        }
        if let a = o["allow_sandboxes"], a != .null {
            guard let b = a.boolValue else {
                throw PluginError(.invalidRequest, "network_options.allow_sandboxes must be true or false.")
            }
            allowSandboxes = b
        }
        if let p = o["publish"], p != .null {
            guard let items = p.arrayValue else {
                throw PluginError(.invalidRequest, "network_options.publish must be a list of ports to publish.")
            }
            guard items.count <= Self.maxPublished else {
                throw PluginError(.invalidRequest, "network_options.publish may name at most \(Self.maxPublished) ports.")
            }
            publish = try items.enumerated().map { (i, item) throws(PluginError) in try Self.publishEntry(item, index: i) }
        }
        var taken = Set<String>()
        for p in publish where p.hostPort != 0 {
            guard taken.insert("\(p.hostAddress):\(p.hostPort)").inserted else {
                throw PluginError(.invalidRequest, "network_options.publish names \(p.hostAddress):\(p.hostPort) twice.")
            }
        }
    }

    /// True when nothing differs from the defaults (all a `none` network accepts).
    var isDefault: Bool { egress == .none && !allowSandboxes && publish.isEmpty }

    private static func publishEntry(_ item: JSONValue, index i: Int) throws(PluginError) -> Publish {
        guard case .object(let o) = item else {
            throw PluginError(.invalidRequest, "network_options.publish[\(i)] must be an object with target_port.")
        }
        guard let target = port(o["target_port"]), target >= 1 else {
            throw PluginError(.invalidRequest, "network_options.publish[\(i)].target_port must be a port number from 1 to 65535.")
        }
        var hostPort = 0
        if let v = o["host_port"], v != .null {
            guard let n = port(v) else {
                throw PluginError(.invalidRequest, "network_options.publish[\(i)].host_port must be a port number from 0 (any free port) to 65535.")
            }
            hostPort = n
        }
        var address = "127.0.0.1"
        if let v = o["host_address"], v != .null {
            guard let s = v.stringValue, IPv4Prefix.parseAddress(s) != nil else {
                throw PluginError(.invalidRequest, "network_options.publish[\(i)].host_address must be an IPv4 address of this host, such as 127.0.0.1.")
            }
            address = s
        }
        return Publish(targetPort: target, hostPort: hostPort, hostAddress: address)
    }

    /// A whole number from 0 to 65535, or nil.
    static func port(_ value: JSONValue?) -> Int? {
        guard let n = value?.numberValue, n.rounded() == n, n >= 0, n <= 65535 else { return nil }
        return Int(n)
    }
}
