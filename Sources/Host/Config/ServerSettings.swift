/// Settings of `sandboxer serve`: where it listens, how often it sweeps, who may call it.
public struct ServerSettings: Sendable, Equatable {
    /// One bearer token, kept only as its SHA-256: the config never holds a usable secret.
    public struct Token: Sendable, Equatable {
        /// `operator` sees and touches everything; `consumer` only the sandboxes it created.
        public enum Role: String, Sendable, CaseIterable { case `operator`, consumer }
        /// Who holds it; recorded as the creator of the sandboxes it makes.
        public var name: String
        public var role: Role
        /// Lowercase hex SHA-256 of the token (`sandboxer token-hash` prints it).
        public var sha256: String
        public init(name: String, role: Role, sha256: String) { self.name = name; self.role = role; self.sha256 = sha256 }
    }

    /// `HOST:PORT` or `unix:/path`; the CLI's `--listen` overrides it.
    public var listen: String = "127.0.0.1:8080"
    /// How often `serve` runs `expire --apply`.
    public var sweepInterval = TTLDuration(seconds: 30)
    public var tokens: [Token] = []

    public init(listen: String = "127.0.0.1:8080", sweepInterval: TTLDuration = TTLDuration(seconds: 30), tokens: [Token] = []) {
        self.listen = listen; self.sweepInterval = sweepInterval; self.tokens = tokens
    }
}

extension ConfigLoader {
    static let serverKeys = ["listen", "sweep_interval", "tokens"]
    static let tokenKeys = ["name", "role", "sha256"]

    /// Reads the optional top-level `server` block.
    static func server(_ node: YAMLNode, reader: ConfigReader) throws(ConfigError) -> ServerSettings {
        var settings = ServerSettings()
        if reader.isNull(node) { return settings }
        let entries = try reader.mapping(node, "\"server\"")
        try reader.checkKeys(entries, allowed: serverKeys, "in \"server\"")
        if let listen = try reader.optionalString(node["listen"], "\"listen\" in \"server\"") { settings.listen = listen }
        if let interval = node["sweep_interval"], !reader.isNull(interval) {
            settings.sweepInterval = try reader.duration(interval, "\"sweep_interval\" in \"server\"")
        }
        guard let tokensNode = node["tokens"], !reader.isNull(tokensNode) else { return settings }
        guard let items = tokensNode.sequenceItems else {
            throw reader.fail(.invalidValue, "Expected a list for \"tokens\" in \"server\", found \(reader.describe(tokensNode)).", at: tokensNode)
        }
        var names = Set<String>()
        for item in items {
            let fields = try reader.mapping(item, "a token in \"server.tokens\"")
            try reader.checkKeys(fields, allowed: tokenKeys, "in a token")
            guard let nameNode = item["name"], let roleNode = item["role"], let hashNode = item["sha256"] else {
                throw reader.fail(.missingKey, "Each token needs \"name\", \"role\" and \"sha256\".", at: item)
            }
            let name = try reader.string(nameNode, "\"name\" of a token")
            guard names.insert(name).inserted else {
                throw reader.fail(.invalidValue, "Two tokens are named \(name.quotedForMessage); token names must be unique.", at: nameNode)
            }
            let roleText = try reader.string(roleNode, "\"role\" of token \(name.quotedForMessage)")
            guard let role = ServerSettings.Token.Role(rawValue: roleText) else {
                throw reader.fail(.invalidValue, "Invalid role \(roleText.quotedForMessage) for token \(name.quotedForMessage): expected operator or consumer.", at: roleNode)
            }
            let hash = try reader.string(hashNode, "\"sha256\" of token \(name.quotedForMessage)").lowercased()
            guard hash.count == 64, hash.allSatisfy({ $0.isHexDigit }) else {
                throw reader.fail(.invalidValue, "The sha256 of token \(name.quotedForMessage) must be 64 hex digits (the SHA-256 of the token, never the token itself).", at: hashNode)
            }
            settings.tokens.append(ServerSettings.Token(name: name, role: role, sha256: hash))
        }
        return settings
    }
}
