import Foundation
import PluginKit

/// The fin-hub backend's configuration, read from the host config's backend object.
///
/// The hub's consumer token is never in it: `token_secret` names it, and the plugin asks the host's
/// `secret_lookup` for its value when it first talks to the hub.
public struct FinHubConfig: Sendable, Equatable {
    /// The hub's base URL: `https://…`, or `http://` to a loopback address only (a token must not
    /// cross a network in the clear).
    public var url: String
    /// Host secret name of the hub's consumer token.
    public var tokenSecret: String
    /// The hub profile used for every local profile not in `profiles` (nil: the hub's default).
    public var defaultProfile: String?
    /// Local profile name → hub profile name.
    public var profiles: [String: String] = [:]
    /// Seconds added to the host's deadline for the hub's own (backstop) deadline.
    public var graceSeconds: Int64 = 300
    /// Seconds one HTTP call to the hub may take.
    public var callTimeout: Double = 30

    /// Known keys. `data_dir` is added by the host to every backend's config; this plugin keeps no
    /// local state, so it is accepted and unused.
    static let keys: Set<String> = ["url", "token_secret", "profile", "grace", "call_timeout_seconds", "data_dir"]

    /// Parses and checks the backend config object.
    public init(json: JSONValue) throws(PluginError) {
        guard let object = json.objectValue else {
            throw PluginError(.invalidRequest, "The fin-hub backend config must be a JSON object.")
        }
        if let unknown = object.keys.filter({ !Self.keys.contains($0) }).sorted().first {
            throw PluginError(.invalidRequest, "The fin-hub backend config has an unknown key '\(unknown)' (known: \(Self.keys.sorted().joined(separator: ", "))).")
        }
        guard var url = object["url"]?.stringValue, !url.isEmpty, url.utf8.count <= 1024 else {
            throw PluginError(.invalidRequest, "The fin-hub backend config needs 'url', the hub's base URL (https://…, or http:// to a loopback address).")
        }
        while url.hasSuffix("/") { url.removeLast() }
        try Self.checkURL(url)
        self.url = url
        guard let secret = object["token_secret"]?.stringValue, !secret.isEmpty, secret.utf8.count <= 256 else {
            throw PluginError(.invalidRequest, "The fin-hub backend config needs 'token_secret', the name of the host secret holding the hub's consumer token.")
        }
        tokenSecret = secret
        switch object["profile"] {
        case nil, .null?: break
        case .string(let name)?:
            defaultProfile = try Self.profileName(name)
        case .object(let map)?:
            for (ours, theirs) in map {
                guard let name = theirs.stringValue else {
                    throw PluginError(.invalidRequest, "The fin-hub 'profile' map must map our profile names to hub profile names (strings); '\(ours)' does not.")
                }
                profiles[ours] = try Self.profileName(name)
            }
        default:
            throw PluginError(.invalidRequest, "The fin-hub 'profile' must be a hub profile name or a map from our profile names to hub profile names.")
        }
        if let grace = object["grace"], grace != .null {
            guard let text = grace.stringValue, let seconds = Self.durationSeconds(text) else {
                throw PluginError(.invalidRequest, "The fin-hub 'grace' must be a duration such as 5m (a whole number and one of s, m, h, d), or 0s.")
            }
            graceSeconds = seconds
        }
        if let value = object["call_timeout_seconds"], value != .null {
            guard let n = value.numberValue, n > 0, n <= 600 else {
                throw PluginError(.invalidRequest, "The fin-hub 'call_timeout_seconds' must be a number of seconds above 0 and at most 600.")
            }
            callTimeout = n
        }
    }

    /// The hub profile for one of our profiles: its mapping, else the default (nil: the hub's own default).
    public func hubProfile(for local: String) -> String? { profiles[local] ?? defaultProfile }

    /// Refuses a plaintext URL to anything but loopback: the bearer token travels in every request.
    static func checkURL(_ url: String) throws(PluginError) {
        guard let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased(),
              let host = parts.host, !host.isEmpty, parts.query == nil, parts.fragment == nil else {
            throw PluginError(.invalidRequest, "The fin-hub 'url' must be an absolute http(s) URL with a host and no query.")
        }
        switch scheme {
        case "https": return
        case "http":
            let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
            guard bare == "localhost" || bare == "::1" || bare.hasPrefix("127.") else {
                throw PluginError(.invalidRequest, "The fin-hub 'url' uses http:// to \(host), which is not a loopback address: use https:// so the hub token is not sent in the clear.")
            }
        default:
            throw PluginError(.invalidRequest, "The fin-hub 'url' must start with https:// (or http:// to a loopback address).")
        }
    }

    /// A hub profile name as the hub's API accepts it in a JSON body (bounded, printable).
    static func profileName(_ name: String) throws(PluginError) -> String {
        guard !name.isEmpty, name.utf8.count <= 128, name.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f }) else {
            throw PluginError(.invalidRequest, "A fin-hub hub profile name must be 1 to 128 printable characters without spaces.")
        }
        return name
    }

    /// Seconds in a duration (`30s`, `5m`, `2h`, `1d`, or `0s`); nil when malformed.
    public static func durationSeconds(_ text: String) -> Int64? {
        guard let unit = text.last, let multiplier: Int64 = ["s": 1, "m": 60, "h": 3600, "d": 86_400][unit] else { return nil }
        let digits = text.dropLast()
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy(\.isASCII), let n = Int64(digits), n >= 0,
              digits == "0" || !digits.hasPrefix("0") else { return nil }
        return n * multiplier
    }
}
