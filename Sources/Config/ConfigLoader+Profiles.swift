import Core
import YAMLSubset
import Basics
import PluginProtocol
/// Reading and validating one profile.
extension ConfigLoader {
    static let profileKeys = ["backend", "image", "resources", "network", "env", "ttl", "consumer", "labels",
                              "on_expire", "snapshots", "extends", "reach", "network_options", "exec",
                              "placement", "build"]
    static let profileExecKeys = ["timeout"]
    static let snapshotKeys = ["keep", "max_age"]
    static let resourceKeys = ["cpus", "memory", "pids", "disk"]
    static let ttlKeys = ["default", "max", "idle_reap", "expiry_warning"]

    static func profile(_ key: YAMLKey, _ node: YAMLNode, reader: ConfigReader,
                        backends: [String: BackendConfig]) throws(ConfigError) -> Profile {
        let name = key.name
        let what = "profile \(name.quotedForMessage)"
        if reader.isNull(node) {
            throw reader.fail(.missingKey, "The \(what) needs at least a \"backend\" key.", at: key)
        }
        let entries = try reader.mapping(node, what)
        try reader.checkKeys(entries, allowed: profileKeys, "in \(what)")

        guard let backendNode = node["backend"], !reader.isNull(backendNode) else {
            throw reader.fail(.missingKey, "The \(what) needs a \"backend\" key naming one of the backends.", at: key)
        }
        let backend = try reader.string(backendNode, "\"backend\" in \(what)")
        if backends[backend] == nil {
            let defined = backends.keys.sorted()
            let list = defined.isEmpty ? "no backends are defined" : "defined: \(defined.joined(separator: ", "))"
            throw reader.fail(.invalidValue, "The \(what) names backend \(backend.quotedForMessage), which is not defined under \"backends\" (\(list)).",
                              at: backendNode)
        }

        var profile = Profile(name: name, backend: backend)
        profile.image = try reader.optionalString(node["image"], "\"image\" in \(what)")
        profile.consumer = try reader.optionalString(node["consumer"], "\"consumer\" in \(what)")
        if let resources = node["resources"] {
            profile.resources = try self.resources(resources, what: what, reader: reader)
        }
        if let networkNode = node["network"], let network = try reader.optionalString(networkNode, "\"network\" in \(what)") {
            guard Profile.networks.contains(network) else {
                throw reader.fail(.invalidValue, "Invalid network \(network.quotedForMessage) in \(what): expected none or bridge.", at: networkNode)
            }
            profile.network = network
        }
        if let envNode = node["env"] {
            profile.env = try stringMap(envNode, field: "env", what: what, reader: reader) { name in
                isEnvironmentName(name) ? nil
                    : "Invalid environment variable name \(name.quotedForMessage) in \(what): use letters, digits and \"_\", not starting with a digit."
            }
        }
        if let labelsNode = node["labels"] {
            profile.labels = try stringMap(labelsNode, field: "labels", what: what, reader: reader) { name in
                name.isEmpty ? "Label keys in \(what) must not be empty." : nil
            }
        }
        if let ttlNode = node["ttl"] {
            profile.ttl = try ttl(ttlNode, what: what, reader: reader)
        }
        if let onExpireNode = node["on_expire"],
           let text = try reader.optionalString(onExpireNode, "\"on_expire\" in \(what)") {
            guard let value = Profile.OnExpire(rawValue: text) else {
                throw reader.fail(.invalidValue, "Invalid on_expire \(text.quotedForMessage) in \(what): expected destroy or snapshot.",
                                  at: onExpireNode)
            }
            profile.onExpire = value
        }
        if let snapshotsNode = node["snapshots"], !reader.isNull(snapshotsNode) {
            profile.snapshots = try snapshotRetention(snapshotsNode, what: what, reader: reader)
        }
        if let reachNode = node["reach"], !reader.isNull(reachNode) {
            profile.reach = try reach(reachNode, what: what, reader: reader)
        }
        if let optionsNode = node["network_options"], !reader.isNull(optionsNode) {
            profile.networkOptions = try networkOptions(optionsNode, what: what, reader: reader)
        }
        if let execNode = node["exec"], !reader.isNull(execNode) {
            let fields = try reader.mapping(execNode, "\"exec\" in \(what)")
            try reader.checkKeys(fields, allowed: profileExecKeys, "in \"exec\" of \(what)")
            if let timeoutNode = execNode["timeout"], !reader.isNull(timeoutNode) {
                profile.execTimeout = try reader.duration(timeoutNode, "\"timeout\" in \"exec\" of \(what)")
            }
        }
        if let placementNode = node["placement"] {
            profile.placement = try stringMap(placementNode, field: "placement", what: what, reader: reader) { name in
                name.isEmpty ? "Placement label keys in \(what) must not be empty." : nil
            }
        }
        try checkNetworkNeeds(profile, node, what: what, reader: reader)
        return profile
    }

    static func snapshotRetention(_ node: YAMLNode, what: String, reader: ConfigReader) throws(ConfigError) -> Profile.SnapshotRetention {
        let entries = try reader.mapping(node, "\"snapshots\" in \(what)")
        try reader.checkKeys(entries, allowed: snapshotKeys, "in the snapshots of \(what)")
        var retention = Profile.SnapshotRetention()
        for (key, value) in entries where !reader.isNull(value) {
            let field = "\"\(key.name)\" in the snapshots of \(what)"
            if key.name == "max_age" {
                retention.maxAge = try reader.duration(value, field)
            } else {
                let text = try reader.string(value, field)
                guard text.allSatisfy({ $0.isASCII && $0.isNumber }), let keep = Int(text), keep >= 0 else {
                    throw reader.fail(.invalidValue, "Invalid keep \(text.quotedForMessage) in \(what): expected a whole number of snapshots (0 or more).", at: value)
                }
                retention.keep = keep
            }
        }
        return retention
    }

    static func resources(_ node: YAMLNode, what: String, reader: ConfigReader) throws(ConfigError) -> ResourceSpec {
        let entries = try reader.mapping(node, "\"resources\" in \(what)")
        try reader.checkKeys(entries, allowed: resourceKeys, "in the resources of \(what)")
        var spec = ResourceSpec()
        for (key, value) in entries where !reader.isNull(value) {
            let text = try reader.string(value, "\"\(key.name)\" in the resources of \(what)", nonEmpty: false)
            switch key.name {
            case "cpus":
                let decimal = !text.isEmpty && text.allSatisfy { $0 == "." || ($0.isASCII && $0.isNumber) }
                    && text.filter({ $0 == "." }).count <= 1
                guard decimal, let cpus = Double(text), cpus.isFinite, cpus > 0 else {
                    throw reader.fail(.invalidValue, "Invalid cpus \(text.quotedForMessage) in \(what): expected a number greater than zero (for example 1 or 0.5).", at: value)
                }
                spec.cpus = cpus
            case "memory":
                guard let bytes = ResourceSpec.parseMemory(text) else {
                    throw reader.fail(.invalidValue, "Invalid memory size \(text.quotedForMessage) in \(what): expected a whole number of bytes greater than zero, optionally followed by K, M, G or T (for example 512M or 2G).", at: value)
                }
                spec.memoryBytes = bytes
            case "disk":
                guard let bytes = ResourceSpec.parseMemory(text) else {
                    throw reader.fail(.invalidValue, "Invalid disk size \(text.quotedForMessage) in \(what): expected a whole number of bytes greater than zero, optionally followed by K, M, G or T (for example 1G).", at: value)
                }
                spec.diskBytes = bytes
            default:  // pids
                guard text.allSatisfy({ $0.isASCII && $0.isNumber }), let pids = Int(text), pids > 0 else {
                    throw reader.fail(.invalidValue, "Invalid pids \(text.quotedForMessage) in \(what): expected a whole number greater than zero.", at: value)
                }
                spec.pids = pids
            }
        }
        return spec
    }

    static func ttl(_ node: YAMLNode, what: String, reader: ConfigReader) throws(ConfigError) -> TTLPolicy {
        let entries = try reader.mapping(node, "\"ttl\" in \(what)")
        try reader.checkKeys(entries, allowed: ttlKeys, "in the ttl of \(what)")
        var policy = TTLPolicy()
        var defaultNode: YAMLNode?
        for (key, value) in entries {
            let field = "\"\(key.name)\" in the ttl of \(what)"
            switch key.name {
            case "default": defaultNode = value; policy.defaultTTL = try reader.duration(value, field)
            case "max": policy.max = try reader.duration(value, field)
            case "expiry_warning": policy.expiryWarning = reader.isNull(value) ? nil : try reader.duration(value, field)
            default: policy.idleReap = reader.isNull(value) ? nil : try reader.duration(value, field)
            }
        }
        if policy.defaultTTL > policy.max {
            throw reader.fail(.invalidValue, "The ttl default \(policy.defaultTTL) of \(what) is longer than its max \(policy.max).",
                              at: defaultNode ?? node)
        }
        return policy
    }

    /// A mapping of non-empty string keys to non-empty string values (env, labels).
    static func stringMap(_ node: YAMLNode, field: String, what: String, reader: ConfigReader,
                          checkKey: (String) -> String?) throws(ConfigError) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in try reader.mapping(node, "\"\(field)\" in \(what)") {
            if let problem = checkKey(key.name) { throw reader.fail(.invalidValue, problem, at: key) }
            let entry = "\(key.name.quotedForMessage) in the \(field) of \(what)"
            if reader.isNull(value) {
                throw reader.fail(.invalidValue, "The entry \(entry) has no value; write a string (quote it if it looks like null).", at: key)
            }
            let text = try reader.string(value, entry, nonEmpty: field == "labels")
            if text.unicodeScalars.contains("\0") {
                throw reader.fail(.invalidValue, "The value of \(entry) must not contain a NUL character.", at: value)
            }
            result[key.name] = text
        }
        return result
    }

    static func isEnvironmentName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) else { return false }
        return name.utf8.allSatisfy { b in
            (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
                || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_")
        }
    }
}
