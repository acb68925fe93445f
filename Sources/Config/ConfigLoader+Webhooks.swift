import FoundationEssentials
import Glibc
import Core
import YAMLSubset
import Basics
import PluginProtocol

/// Reading the top-level `webhooks:` list of sinks.
extension ConfigLoader {
    static let webhookKeys = ["name", "url", "secret", "events", "timeout", "max_attempts", "backoff"]
    static let webhookBackoffKeys = ["initial", "max"]
    /// Attempts beyond this are a typo rather than a policy (with a 10m cap, 1000 attempts is a week).
    static let maxWebhookAttempts = 1000

    /// Reads the optional `webhooks` list. Secrets given as `env:NAME` or `file:/path` are only
    /// checked for form here and read by `serve`, so other commands do not need them.
    static func webhooks(_ node: YAMLNode, reader: ConfigReader, baseDirectory: String, cwd: String) throws(ConfigError) -> [WebhookSink] {
        if reader.isNull(node) { return [] }
        guard let items = node.sequenceItems else {
            throw reader.fail(.invalidValue, "Expected a list of sinks for \"webhooks\", found \(reader.describe(node)).", at: node)
        }
        var sinks: [WebhookSink] = []
        var names = Set<String>()
        for item in items {
            let sink = try webhook(item, reader: reader, baseDirectory: baseDirectory, cwd: cwd)
            guard names.insert(sink.name).inserted else {
                throw reader.fail(.invalidValue, "Two webhook sinks are named \(sink.name.quotedForMessage); sink names must be unique.",
                                  at: item["name"] ?? item)
            }
            sinks.append(sink)
        }
        return sinks
    }

    static func webhook(_ item: YAMLNode, reader: ConfigReader, baseDirectory: String, cwd: String) throws(ConfigError) -> WebhookSink {
        let entries = try reader.mapping(item, "a sink in \"webhooks\"")
        try reader.checkKeys(entries, allowed: webhookKeys, "in a webhook sink")
        guard let nameNode = item["name"], !reader.isNull(nameNode) else {
            throw reader.fail(.missingKey, "Each webhook sink needs a \"name\".", at: item)
        }
        let name = try reader.string(nameNode, "\"name\" of a webhook sink")
        try reader.checkName(YAMLKey(name, line: nameNode.line, column: nameNode.column), "webhook sink")
        let what = "webhook sink \(name.quotedForMessage)"

        guard let urlNode = item["url"], !reader.isNull(urlNode) else {
            throw reader.fail(.missingKey, "The \(what) needs a \"url\" (http:// or https://).", at: nameNode)
        }
        let url = try reader.string(urlNode, "\"url\" of \(what)")
        // The URL is not quoted back: webhook URLs often embed a token.
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty else {
            throw reader.fail(.invalidValue, "The url of \(what) must be an absolute http:// or https:// URL with a host.", at: urlNode)
        }

        guard let secretNode = item["secret"], !reader.isNull(secretNode) else {
            throw reader.fail(.missingKey, "The \(what) needs a \"secret\" to sign deliveries with (a value, env:NAME or file:/path).", at: nameNode)
        }
        let secret = try webhookSecret(secretNode, what: what, reader: reader, baseDirectory: baseDirectory, cwd: cwd)

        var sink = WebhookSink(name: name, url: url, secret: secret)
        if let eventsNode = item["events"], !reader.isNull(eventsNode) {
            sink.events = try webhookEvents(eventsNode, what: what, reader: reader)
        }
        if let timeoutNode = item["timeout"], !reader.isNull(timeoutNode) {
            sink.timeout = try reader.duration(timeoutNode, "\"timeout\" of \(what)")
        }
        if let attemptsNode = item["max_attempts"], !reader.isNull(attemptsNode) {
            let text = try reader.string(attemptsNode, "\"max_attempts\" of \(what)")
            guard text.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(text), (1...maxWebhookAttempts).contains(n) else {
                throw reader.fail(.invalidValue, "Invalid max_attempts \(text.quotedForMessage) for \(what): expected a whole number from 1 to \(maxWebhookAttempts).",
                                  at: attemptsNode)
            }
            sink.maxAttempts = n
        }
        if let backoffNode = item["backoff"], !reader.isNull(backoffNode) {
            sink.backoff = try webhookBackoff(backoffNode, what: what, reader: reader)
        }
        return sink
    }

    /// A literal, `env:NAME` or `file:PATH` (relative paths resolve against the config's directory).
    /// Never quoted back in an error: a mistyped literal is still a secret.
    static func webhookSecret(_ node: YAMLNode, what: String, reader: ConfigReader, baseDirectory: String,
                              cwd: String) throws(ConfigError) -> WebhookSecret {
        guard let text = node.scalarText else {
            throw reader.fail(.invalidValue, "Expected a string for \"secret\" of \(what), found \(reader.describe(node)).", at: node)
        }
        if text.hasPrefix("env:") {
            let name = String(text.dropFirst(4))
            guard isEnvironmentName(name) else {
                throw reader.fail(.invalidValue, "The secret of \(what) names an invalid environment variable after \"env:\": use letters, digits and \"_\", not starting with a digit.",
                                  at: node)
            }
            return .environment(name)
        }
        if text.hasPrefix("file:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty else {
                throw reader.fail(.invalidValue, "The secret of \(what) needs a path after \"file:\".", at: node)
            }
            return .file(ConfigPaths.absolute(path, base: baseDirectory, cwd: cwd))
        }
        guard !text.isEmpty else { throw reader.fail(.invalidValue, "The secret of \(what) must not be empty.", at: node) }
        return .literal(text)
    }

    static func webhookEvents(_ node: YAMLNode, what: String, reader: ConfigReader) throws(ConfigError) -> Set<String> {
        guard let items = node.sequenceItems else {
            throw reader.fail(.invalidValue, "Expected a list of event types for \"events\" of \(what), found \(reader.describe(node)).", at: node)
        }
        guard !items.isEmpty else {
            throw reader.fail(.invalidValue, "The events of \(what) must name at least one event type (leave \"events\" out to deliver all).", at: node)
        }
        var types = Set<String>()
        for item in items {
            let type = try reader.string(item, "an event type of \(what)")
            guard WebhookSink.eventTypes.contains(type) else {
                let hint = ConfigReader.closest(to: type, in: WebhookSink.eventTypes).map { " (did you mean \($0.quotedForMessage)?)" } ?? ""
                throw reader.fail(.invalidValue, "Unknown event type \(type.quotedForMessage) in \(what)\(hint); event types are \(WebhookSink.eventTypes.joined(separator: ", ")).",
                                  at: item)
            }
            types.insert(type)
        }
        return types
    }

    static func webhookBackoff(_ node: YAMLNode, what: String, reader: ConfigReader) throws(ConfigError) -> WebhookBackoff {
        let entries = try reader.mapping(node, "\"backoff\" of \(what)")
        try reader.checkKeys(entries, allowed: webhookBackoffKeys, "in the backoff of \(what)")
        var backoff = WebhookBackoff()
        if let initial = node["initial"], !reader.isNull(initial) {
            backoff.initial = try reader.duration(initial, "\"initial\" in the backoff of \(what)")
        }
        if let max = node["max"], !reader.isNull(max) {
            backoff.max = try reader.duration(max, "\"max\" in the backoff of \(what)")
        }
        guard backoff.initial <= backoff.max else {
            throw reader.fail(.invalidValue, "The backoff initial \(backoff.initial) of \(what) is longer than its max \(backoff.max).",
                              at: node["initial"] ?? node)
        }
        return backoff
    }
}
