import Core
import YAMLSubset
import Basics
import PluginProtocol

/// A profile's `reach:` (named ports the sandbox must expose) and `network_options:` (egress,
/// published ports), and the rule that both need a network.
extension ConfigLoader {
    static let reachKeys = ["port", "kind"]
    static let networkOptionKeys = ["egress", "allow_sandboxes", "publish"]
    static let publishKeys = ["target_port", "host_port", "host_address"]
    static let egressModes = ["none", "nat"]

    /// `reach: {web: {port: 8080, kind: http}, shell: {port: 22, kind: ssh}}`, sorted by name.
    static func reach(_ node: YAMLNode, what: String, reader: ConfigReader) throws(ConfigError) -> [ReachPort] {
        var ports: [ReachPort] = []
        for (key, value) in try reader.mapping(node, "\"reach\" in \(what)") {
            try reader.checkName(key, "reach entry")
            let entry = "reach entry \(key.name.quotedForMessage) of \(what)"
            let fields = try reader.mapping(value, entry)
            try reader.checkKeys(fields, allowed: reachKeys, "in the \(entry)")
            guard let portNode = value["port"], !reader.isNull(portNode) else {
                throw reader.fail(.missingKey, "The \(entry) needs a \"port\" (the port inside the sandbox, 1 to 65535).", at: key)
            }
            let port = try self.port(portNode, "\"port\" in the \(entry)", reader: reader, allowZero: false)
            var kind = EndpointKind.tcp
            if let kindNode = value["kind"], let text = try reader.optionalString(kindNode, "\"kind\" in the \(entry)") {
                guard let k = EndpointKind(rawValue: text) else {
                    throw reader.fail(.invalidValue, "Invalid kind \(text.quotedForMessage) in the \(entry): expected ssh, tcp, http or https.", at: kindNode)
                }
                kind = k
            }
            if let other = ports.first(where: { $0.port == port }) {
                throw reader.fail(.invalidValue, "The \(entry) names port \(port), which the reach entry \(other.name.quotedForMessage) already names; give each port one name.",
                                  at: portNode)
            }
            ports.append(ReachPort(name: key.name, port: port, kind: kind))
        }
        return ports.sorted { $0.name < $1.name }
    }

    /// `network_options: {egress: none|nat, allow_sandboxes: bool, publish: [{target_port, host_port, host_address}]}`.
    static func networkOptions(_ node: YAMLNode, what: String, reader: ConfigReader) throws(ConfigError) -> CreateNetworkOptions {
        let field = "\"network_options\" in \(what)"
        let entries = try reader.mapping(node, field)
        try reader.checkKeys(entries, allowed: networkOptionKeys, "in the network_options of \(what)")
        var options = CreateNetworkOptions()
        if let n = node["egress"], let text = try reader.optionalString(n, "\"egress\" in the network_options of \(what)") {
            guard egressModes.contains(text) else {
                throw reader.fail(.invalidValue, "Invalid egress \(text.quotedForMessage) in the network_options of \(what): expected none or nat.", at: n)
            }
            options.egress = text
        }
        if let n = node["allow_sandboxes"], !reader.isNull(n) {
            let text = try reader.string(n, "\"allow_sandboxes\" in the network_options of \(what)")
            guard let flag = ["true": true, "false": false][text] else {
                throw reader.fail(.invalidValue, "Invalid allow_sandboxes \(text.quotedForMessage) in the network_options of \(what): expected true or false.", at: n)
            }
            options.allowSandboxes = flag
        }
        if let n = node["publish"], !reader.isNull(n) {
            guard let items = n.sequenceItems else {
                throw reader.fail(.invalidValue, "Expected a list for \"publish\" in the network_options of \(what), found \(reader.describe(n)).", at: n)
            }
            var publish: [CreateNetworkOptions.Publish] = []
            for item in items {
                let entry = "an entry of \"publish\" in the network_options of \(what)"
                let fields = try reader.mapping(item, entry)
                try reader.checkKeys(fields, allowed: publishKeys, "in \(entry)")
                guard let target = item["target_port"], !reader.isNull(target) else {
                    throw reader.fail(.missingKey, "Each entry of \"publish\" in the network_options of \(what) needs \"target_port\".", at: item)
                }
                var p = CreateNetworkOptions.Publish(targetPort: try port(target, "\"target_port\" in \(entry)", reader: reader, allowZero: false))
                if let hp = item["host_port"], !reader.isNull(hp) {
                    p.hostPort = try port(hp, "\"host_port\" in \(entry)", reader: reader, allowZero: true)
                }
                p.hostAddress = try reader.optionalString(item["host_address"], "\"host_address\" in \(entry)")
                publish.append(p)
            }
            options.publish = publish
        }
        return options
    }

    /// A port number: a whole number from 1 (or 0 with `allowZero`) to 65535.
    static func port(_ node: YAMLNode, _ what: String, reader: ConfigReader, allowZero: Bool) throws(ConfigError) -> Int {
        let text = try reader.string(node, what)
        let low = allowZero ? 0 : 1
        guard text.count <= 5, text.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(text), (low...65535).contains(n) else {
            throw reader.fail(.invalidValue, "Invalid port \(text.quotedForMessage) for \(what): expected a whole number from \(low) to 65535.", at: node)
        }
        return n
    }

    /// `reach` and `network_options` need a network: a sandbox with `network: none` has no port
    /// anyone could reach. Whether the backend can serve `reach` is known only once its plugin
    /// loads, so create checks that (SandboxService).
    static func checkNetworkNeeds(_ profile: Profile, _ node: YAMLNode, what: String, reader: ConfigReader) throws(ConfigError) {
        guard profile.network == "none" else { return }
        if !profile.reach.isEmpty, let reachNode = node["reach"] {
            let names = profile.reach.map(\.name).joined(separator: ", ")
            throw reader.fail(.invalidValue, "The \(what) declares reach (\(names)) but its network is none: a sandbox without a network cannot be reached; set network: bridge (or the mode its backend documents).",
                              at: reachNode)
        }
        if let options = profile.networkOptions, !options.isEmpty, let optionsNode = node["network_options"] {
            throw reader.fail(.invalidValue, "The \(what) sets network_options but its network is none; set network: bridge (or the mode its backend documents).",
                              at: optionsNode)
        }
    }
}
