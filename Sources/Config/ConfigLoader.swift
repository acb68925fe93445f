import FoundationEssentials
import Core
import YAMLSubset
import Basics
import PluginProtocol
#if canImport(Glibc)
import Glibc
#endif

/// Finds, reads and validates the configuration.
public enum ConfigLoader {
    /// Environment variable naming the config file when `--config` is not given.
    public static let configVariable = "SANDBOXER_CONFIG"
    /// Environment variable naming the data directory when the file has no `data_dir`.
    public static let homeVariable = "SANDBOXER_HOME"
    /// Config files larger than this are refused rather than read (it is a config, not a data set).
    public static let maxFileSize = 4 << 20
    static let topLevelKeys = ["data_dir", "host_id", "backends", "profiles", "server", "webhooks", "retention",
                                "builders", "images", "exec"]
    static let backendKeys = ["plugin", "timeouts", "max_response", "config", "isolation"]

    /// Picks the file: explicit path (from --config) > $SANDBOXER_CONFIG > the embedded default.
    public static func load(explicitPath: String?, environment: [String: String], executableDirectory: String) throws(ConfigError) -> Config {
        let cwd = FileManager.default.currentDirectoryPath
        let chosen: (path: String, origin: String?)?
        if let explicitPath {
            chosen = (explicitPath, nil)
        } else if let fromEnvironment = environment[configVariable], !fromEnvironment.isEmpty {
            chosen = (fromEnvironment, configVariable)
        } else {
            chosen = nil
        }
        guard let chosen else {
            return try parse(DefaultConfig.yaml, file: DefaultConfig.source, environment: environment,
                             baseDirectory: executableDirectory)
        }
        let expanded = ConfigPaths.expandTilde(chosen.path, environment: environment) ?? chosen.path
        let path = ConfigPaths.absolute(expanded, base: cwd, cwd: cwd)
        let text = try readFile(path, origin: chosen.origin)
        return try parse(text, file: path, environment: environment, baseDirectory: ConfigPaths.directory(of: path))
    }

    /// Parses and validates a config document. `file` names it in errors and becomes `Config.source`;
    /// relative paths in it (plugins, data_dir) resolve against `baseDirectory`.
    public static func parse(_ text: String, file: String, environment: [String: String], baseDirectory: String) throws(ConfigError) -> Config {
        let root: YAMLNode
        do {
            root = try YAMLParser.parse(text, file: file)
        } catch {
            throw ConfigError(error)
        }
        let reader = ConfigReader(file: file)
        let cwd = FileManager.default.currentDirectoryPath
        if reader.isNull(root) {
            throw reader.fail(.missingKey, "The configuration is empty; it needs at least one backend under \"backends\" and one profile under \"profiles\".",
                              at: root)
        }
        let entries = try reader.mapping(root, "the top level of the configuration")
        try reader.checkKeys(entries, allowed: topLevelKeys, "at the top level")
        let top = Dictionary(uniqueKeysWithValues: entries.map { ($0.key.name, $0.value) })

        var dataDir: String
        if let node = top["data_dir"], !reader.isNull(node) {
            let raw = try reader.string(node, "\"data_dir\"")
            guard let expanded = ConfigPaths.expandTilde(raw, environment: environment) else {
                throw reader.fail(.invalidValue, "Cannot expand \"~\" in data_dir because HOME is not set.", at: node)
            }
            dataDir = ConfigPaths.absolute(expanded, base: baseDirectory, cwd: cwd)
        } else if let home = environment[homeVariable], !home.isEmpty {
            guard let expanded = ConfigPaths.expandTilde(home, environment: environment) else {
                throw ConfigError(code: .invalidValue, message: "Cannot expand \"~\" in \(homeVariable) because HOME is not set.")
            }
            dataDir = ConfigPaths.absolute(expanded, base: cwd, cwd: cwd)
        } else if let home = environment["HOME"], !home.isEmpty {
            dataDir = ConfigPaths.absolute(home + "/.local/share/sandboxer", base: cwd, cwd: cwd)
        } else {
            throw ConfigError(code: .invalidValue, message: "Cannot choose a data directory: set data_dir in \(file), or \(homeVariable) or HOME in the environment.")
        }

        var hostId: String?
        if let node = top["host_id"], let id = try reader.optionalString(node, "\"host_id\"") {
            guard isValidHostId(id) else {
                throw reader.fail(.invalidValue, "Invalid host_id \(id.quotedForMessage): use 1 to 63 characters of letters, digits, \".\", \"_\" and \"-\", starting with a letter or digit.",
                                  at: node)
            }
            hostId = id
        }

        var backends: [String: BackendConfig] = [:]
        let backendEntries = try top["backends"].map { n throws(ConfigError) in try reader.mapping(n, "\"backends\"") }
        for (key, node) in backendEntries ?? [] {
            try reader.checkName(key, "backend")
            backends[key.name] = try backend(key, node, reader: reader, environment: environment,
                                             baseDirectory: baseDirectory, cwd: cwd)
        }

        let builders = try self.builders(top["builders"], reader: reader, environment: environment,
                                         baseDirectory: baseDirectory, cwd: cwd)

        guard let profilesNode = top["profiles"] else {
            throw reader.fail(.missingKey, "At least one profile must be defined under \"profiles\"; the file has no \"profiles\" key.", at: root)
        }
        let profileEntries = try reader.mapping(profilesNode, "\"profiles\"")
        if profileEntries.isEmpty {
            throw reader.fail(.missingKey, "At least one profile must be defined under \"profiles\".", at: profilesNode)
        }
        var profiles: [String: Profile] = [:]
        let byName = Dictionary(profileEntries.map { ($0.key.name, (key: $0.key, node: $0.value)) }, uniquingKeysWith: { a, _ in a })
        for (key, node) in profileEntries {
            try reader.checkName(key, "profile")
            // `extends:` merges the ancestors' keys in first, so the result is read like any profile.
            let resolved: (node: YAMLNode, parent: String?) = reader.isNull(node) ? (node, nil) : try resolveExtends(key, node, profiles: byName, reader: reader)
            var profile = try profile(key, resolved.node, reader: reader, backends: backends)
            profile.extends = resolved.parent
            profile.build = try build(key, resolved.node, reader: reader, builders: builders, baseDirectory: baseDirectory, cwd: cwd)
            profiles[key.name] = profile
        }
        var config = Config(dataDir: dataDir, hostId: hostId, backends: backends, profiles: profiles, source: file)
        if let serverNode = top["server"] { config.server = try server(serverNode, reader: reader) }
        if let webhooksNode = top["webhooks"] {
            config.webhooks = try webhooks(webhooksNode, reader: reader, baseDirectory: baseDirectory, cwd: cwd)
        }
        if let retentionNode = top["retention"] { config.retention = try retention(retentionNode, reader: reader) }
        config.builders = builders
        if let imagesNode = top["images"] { config.images = try images(imagesNode, reader: reader) }
        if let execNode = top["exec"] { config.exec = try exec(execNode, reader: reader) }
        return config
    }

    static func backend(_ key: YAMLKey, _ node: YAMLNode, reader: ConfigReader, environment: [String: String],
                        baseDirectory: String, cwd: String, role: String = "backend") throws(ConfigError) -> BackendConfig {
        let what = "\(role) \(key.name.quotedForMessage)"
        if reader.isNull(node) {
            throw reader.fail(.missingKey, "The \(what) needs a \"plugin\" key naming its shared library.", at: key)
        }
        let entries = try reader.mapping(node, what)
        try reader.checkKeys(entries, allowed: backendKeys, "in \(what)")
        guard let pluginNode = node["plugin"] else {
            throw reader.fail(.missingKey, "The \(what) needs a \"plugin\" key naming its shared library.", at: key)
        }
        let raw = try reader.string(pluginNode, "\"plugin\" in \(what)")
        guard let expanded = ConfigPaths.expandTilde(raw, environment: environment) else {
            throw reader.fail(.invalidValue, "Cannot expand \"~\" in the plugin path because HOME is not set.", at: pluginNode)
        }
        var config = JSONValue.object([:])
        if let configNode = node["config"], !reader.isNull(configNode) {
            guard configNode.mappingEntries != nil else {
                throw reader.fail(.invalidValue, "Expected a mapping for \"config\" in \(what), found \(reader.describe(configNode)).", at: configNode)
            }
            config = configNode.jsonValue
        }
        return BackendConfig(name: key.name, plugin: ConfigPaths.absolute(expanded, base: baseDirectory, cwd: cwd), config: config,
                             timeouts: try callTimeouts(node["timeouts"], what, reader: reader),
                             maxResponseBytes: try maxResponse(node["max_response"], what, reader: reader),
                             isolation: try isolation(node["isolation"], what, reader: reader))
    }

    static func isValidHostId(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        return (1...63).contains(bytes.count) && bytes.enumerated().allSatisfy { index, b in
            let alnum = (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
                || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
            return alnum || (index > 0 && (b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")))
        }
    }

    /// Reads a whole file as UTF-8, with errors that name the path (and where the path came from).
    static func readFile(_ path: String, origin: String?) throws(ConfigError) -> String {
        let named = "the configuration file \(path)" + (origin.map { " (named by \($0))" } ?? "")
        func fail(_ reason: String) -> ConfigError { ConfigError(code: .io, message: "Cannot read \(named): \(reason).") }
        let bytes: [UInt8]
        switch BoundedFile.read(path, limit: maxFileSize, limitText: "\(maxFileSize >> 20) MiB") {
        case .success(let read): bytes = read
        case .failure(let failure): throw fail(failure.reason)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw fail("it is not valid UTF-8") }
        return text
    }
}
