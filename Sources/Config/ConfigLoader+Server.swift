import FoundationEssentials
import Glibc
import Core
import YAMLSubset
import Basics
import PluginProtocol

extension ConfigLoader {
    static let serverKeys = ["listen", "sweep_interval", "tokens", "max_long_requests", "max_long_requests_per_token"]
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
        if let n = try reader.optionalInt(node["max_long_requests"], "\"max_long_requests\" in \"server\"", min: 1) {
            settings.maxLongRequests = n
        }
        if let n = try reader.optionalInt(node["max_long_requests_per_token"], "\"max_long_requests_per_token\" in \"server\"", min: 1) {
            settings.maxLongRequestsPerToken = n
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
