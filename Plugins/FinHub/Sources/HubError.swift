import Foundation
import HTTPClient
import PluginKit

/// How the hub's answers and transport failures become the ABI's error codes
/// (docs/backends/fin-hub.md, "Failure behaviour").
///
/// Messages name the hub's origin, the call and the token secret's NAME, never the token.
enum HubError {
    /// The hub's error body: `{"error": {"code", "message"}}`.
    struct Body: Decodable {
        struct Inner: Decodable { var code: String?; var message: String? }
        var error: Inner
    }

    /// The plugin error for a non-2xx answer to `method path`.
    static func map(status: Int, body: Data, method: String, path: String, tokenSecret: String) -> PluginError {
        let said = (try? JSONDecoder().decode(Body.self, from: body)).flatMap(\.error.message).map(clip) ?? ""
        let detail = said.isEmpty ? "" : ": \(said)"
        let what = "\(method) \(route(path))"
        switch status {
        case 404:
            return PluginError(.notFound, "The hub has no such resource (\(what), 404)\(detail).")
        case 409:
            return PluginError(.conflict, "The hub refused \(what) in the sandbox's current state (409)\(detail).")
        case 401, 403:
            return PluginError(.invalidRequest, "The hub refused the token from host secret '\(tokenSecret)' on \(what) (\(status))\(detail); check the fin-hub backend's token_secret.")
        case 429:
            return PluginError(.quota, "The hub refused \(what) for a quota or rate limit (429)\(detail).")
        case 400, 413, 422:
            return PluginError(.invalidRequest, "The hub refused \(what) as invalid (\(status))\(detail).")
        case 500...599:
            return PluginError(.unavailable, "The hub is unavailable: \(what) answered \(status)\(detail).")
        default:
            return PluginError(.internal, "The hub answered \(status) to \(what)\(detail).")
        }
    }

    /// The plugin error for a request that got no answer (refused, timed out, reset, too large).
    static func transport(_ error: HTTPClientError, method: String, path: String) -> PluginError {
        switch error.code {
        case .invalidRequest:
            return PluginError(.invalidRequest, "The request \(method) \(route(path)) to the hub is malformed: \(error.message)")
        case .cancelled:
            return PluginError(.cancelled, "The host cancelled \(method) \(route(path)) to the hub.")
        case .responseTooLarge:
            return PluginError(.internal, "The hub's answer to \(method) \(route(path)) was too large: \(error.message)")
        default:
            // HTTPClient's messages name only the origin (scheme, host, port), never a header.
            return PluginError(.unavailable, "The hub is unavailable: \(error.message)")
        }
    }

    /// A path with its ids kept but its query dropped, for messages.
    static func route(_ path: String) -> String {
        String(path.prefix { $0 != "?" })
    }

    /// A server message as one short line: servers may send anything.
    static func clip(_ text: String) -> String {
        var line = String(text.map { $0.isNewline || $0 == "\t" ? " " : $0 }).trimmingCharacters(in: .whitespaces)
        while line.hasSuffix(".") { line.removeLast() }
        return line.count > 300 ? String(line.prefix(300)) + "…" : line
    }
}
