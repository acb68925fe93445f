import Foundation
import PluginKit

/// The E2B backend's configuration, read from the host config's backend object (keys as in
/// docs/backends/e2b.md: `api_url`, `domain`, `sandbox_url`, `api_key_secret`, `template`, `max_timeout`).
struct E2BConfig: Sendable, Equatable {
    /// The control-plane API, without a trailing slash (`https://api.e2b.app`).
    var apiURL: String
    /// The sandbox domain: envd lives at `https://49983-<id>.<domain>`, ports at `https://<port>-<id>.<domain>`.
    var domain: String
    /// One fixed envd address for every sandbox (requests name theirs in `E2b-Sandbox-Id`), or nil.
    var sandboxURL: String?
    /// The name handed to the host's `secret_lookup` for the API key.
    var apiKeySecret: String
    /// The template of a profile that names no image.
    var template: String
    /// The account's cap on a sandbox's lifetime, in seconds (24 h on Pro, 1 h on Hobby).
    var maxTimeoutSeconds: Int64

    static let defaultAPIURL = "https://api.e2b.app"

    init(apiURL: String = defaultAPIURL, domain: String = "e2b.app", sandboxURL: String? = nil, apiKeySecret: String = "e2b",
         template: String = "base", maxTimeoutSeconds: Int64 = 86_400) {
        self.apiURL = apiURL; self.domain = domain; self.sandboxURL = sandboxURL; self.apiKeySecret = apiKeySecret
        self.template = template; self.maxTimeoutSeconds = maxTimeoutSeconds
    }

    static let knownKeys: Set<String> = ["api_url", "domain", "sandbox_url", "api_key_secret", "template", "max_timeout"]
    /// Keys the host adds to every backend's config (`data_dir`, its state directory): accepted, unused.
    static let hostKeys: Set<String> = ["data_dir"]

    init(json: JSONValue) throws(PluginError) {
        guard case .object(let object) = json else {
            throw PluginError(.invalidRequest, "The e2b backend config must be a mapping.")
        }
        // A misspelt key would silently fall back to a default (say, the real API): refuse it.
        if let unknown = object.keys.sorted().first(where: { !Self.knownKeys.contains($0) && !Self.hostKeys.contains($0) }) {
            throw PluginError(.invalidRequest, "The e2b backend config has an unknown key '\(unknown)'; the keys are \(Self.knownKeys.sorted().joined(separator: ", ")).")
        }
        func string(_ key: String) throws(PluginError) -> String? {
            guard let value = object[key], value != .null else { return nil }
            guard let text = value.stringValue, !text.isEmpty else {
                throw PluginError(.invalidRequest, "The e2b '\(key)' must be a non-empty string.")
            }
            return text
        }
        var config = E2BConfig()
        if let url = try string("api_url") { config.apiURL = try Self.checkURL(url, key: "api_url") }
        if let domain = try string("domain") {
            guard Self.isHostName(domain) else {
                throw PluginError(.invalidRequest, "The e2b 'domain' must be a host name such as e2b.app.")
            }
            config.domain = domain.lowercased()
        }
        if let url = try string("sandbox_url") { config.sandboxURL = try Self.checkURL(url, key: "sandbox_url") }
        if let name = try string("api_key_secret") { config.apiKeySecret = name }
        if let template = try string("template") { config.template = template }
        if let value = object["max_timeout"], value != .null {
            guard let seconds = Self.seconds(value), seconds >= 1 else {
                throw PluginError(.invalidRequest, "The e2b 'max_timeout' must be a duration such as 1h or 24h (or whole seconds).")
            }
            config.maxTimeoutSeconds = seconds
        }
        self = config
    }

    /// `30s`, `1h`, `24h`, `1d`, or a whole number of seconds.
    static func seconds(_ value: JSONValue) -> Int64? {
        if let n = value.numberValue {
            guard n.rounded() == n, n >= 1, n <= 365 * 86_400 else { return nil }
            return Int64(n)
        }
        guard let text = value.stringValue, let unit = text.last, let scale: Int64 = ["s": 1, "m": 60, "h": 3600, "d": 86_400][unit],
              let n = Int64(text.dropLast()), n >= 1, n <= 365 * 86_400 / scale, !text.hasPrefix("0"), !text.hasPrefix("+") else { return nil }
        return n * scale
    }

    /// An absolute http(s) URL without query or fragment; `http://` only for loopback hosts (a
    /// key sent in clear text anywhere else would be readable on the way).
    static func checkURL(_ text: String, key: String) throws(PluginError) -> String {
        guard let parts = URLComponents(string: text), let scheme = parts.scheme?.lowercased(), let host = parts.host, !host.isEmpty,
              parts.query == nil, parts.fragment == nil, parts.user == nil, parts.password == nil,
              parts.path.isEmpty || parts.path == "/" else {
            throw PluginError(.invalidRequest, "The e2b '\(key)' must be an absolute https:// URL with a host and no path, query or credentials.")
        }
        switch scheme {
        case "https": break
        case "http":
            guard isLoopback(host) else {
                throw PluginError(.invalidRequest, "The e2b '\(key)' may use http:// only for a loopback address (127.0.0.1, ::1 or localhost); use https://.")
            }
        default:
            throw PluginError(.invalidRequest, "The e2b '\(key)' must use https:// (or http:// to a loopback address).")
        }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }

    static func isLoopback(_ host: String) -> Bool {
        let h = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if h == "localhost" || h == "::1" { return true }
        let octets = h.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    static func isHostName(_ text: String) -> Bool {
        guard text.utf8.count <= 253, !text.hasPrefix("."), !text.hasSuffix("."), !text.contains("..") else { return false }
        return text.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2e || c == 0x2d
        }
    }

    /// The envd address of one sandbox.
    func envdURL(sandboxID: String, domain responseDomain: String?) -> String {
        if let sandboxURL { return sandboxURL }
        return "https://\(EnvdClient.port)-\(sandboxID).\(responseDomain ?? domain)"
    }
}
