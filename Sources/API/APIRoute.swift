import HTTPServer
import YAMLSubset
import Lifecycle
import Webhooks
import Store
import Config
import Core
import Backends
import Basics
import PluginProtocol
/// One route of the HTTP API: method, path pattern (`{id}` segments), and whether it is operator-only.
struct APIRoute: Sendable {
    enum Handler: Sendable {
        case health, metrics, openAPI
        case listSandboxes, createSandbox, getSandbox, deleteSandbox, extendTTL, exec
        case expire, reapStale, backends, profiles, events
        case createSnapshot, listSandboxSnapshots, listSnapshots, getSnapshot, deleteSnapshot, pruneSnapshots, recreate
        case failedEvents
        case explain
        case endpoints
    }

    let method: String
    let pattern: String
    let handler: Handler
    /// Requires no token even when tokens are configured.
    let isPublic: Bool
    /// Only the operator role may call it.
    let operatorOnly: Bool

    /// The pattern split once (route matching runs on every request).
    let segments: [Substring]

    init(method: String, pattern: String, handler: Handler, isPublic: Bool = false, operatorOnly: Bool = false) {
        self.method = method; self.pattern = pattern; self.handler = handler
        self.isPublic = isPublic; self.operatorOnly = operatorOnly
        self.segments = pattern.split(separator: "/")
    }

    /// The path parameters when `path` matches this route's pattern.
    func match(_ path: String) -> [String: String]? {
        match(parts: path.split(separator: "/", omittingEmptySubsequences: false).dropFirst())
    }

    /// Matches a path already split on "/" (without the empty first part).
    func match(parts: ArraySlice<Substring>) -> [String: String]? {
        let pat = segments
        guard parts.count == pat.count else { return nil }
        var params: [String: String] = [:]
        for (p, s) in zip(pat, parts) {
            if p.hasPrefix("{") { guard !s.isEmpty else { return nil }; params[String(p.dropFirst().dropLast())] = String(s) }
            else if p != s { return nil }
        }
        return params
    }

    /// Every route the server knows; the OpenAPI document must describe each one.
    static let all: [APIRoute] = [
        APIRoute(method: "GET", pattern: "/healthz", handler: .health, isPublic: true),
        APIRoute(method: "GET", pattern: "/openapi.json", handler: .openAPI, isPublic: true),
        APIRoute(method: "GET", pattern: "/metrics", handler: .metrics, operatorOnly: true),
        APIRoute(method: "GET", pattern: "/v1/sandboxes", handler: .listSandboxes),
        APIRoute(method: "POST", pattern: "/v1/sandboxes", handler: .createSandbox),
        APIRoute(method: "POST", pattern: "/v1/sandboxes/expire", handler: .expire, operatorOnly: true),
        APIRoute(method: "GET", pattern: "/v1/sandboxes/{id}", handler: .getSandbox),
        APIRoute(method: "DELETE", pattern: "/v1/sandboxes/{id}", handler: .deleteSandbox),
        APIRoute(method: "PATCH", pattern: "/v1/sandboxes/{id}/ttl", handler: .extendTTL),
        APIRoute(method: "POST", pattern: "/v1/sandboxes/{id}/exec", handler: .exec),
        APIRoute(method: "POST", pattern: "/v1/sandboxes/{id}/recreate", handler: .recreate),
        APIRoute(method: "POST", pattern: "/v1/sandboxes/{id}/snapshots", handler: .createSnapshot),
        APIRoute(method: "GET", pattern: "/v1/sandboxes/{id}/snapshots", handler: .listSandboxSnapshots),
        APIRoute(method: "GET", pattern: "/v1/snapshots", handler: .listSnapshots),
        APIRoute(method: "POST", pattern: "/v1/snapshots/prune", handler: .pruneSnapshots, operatorOnly: true),
        APIRoute(method: "GET", pattern: "/v1/snapshots/{id}", handler: .getSnapshot),
        APIRoute(method: "DELETE", pattern: "/v1/snapshots/{id}", handler: .deleteSnapshot),
        APIRoute(method: "POST", pattern: "/v1/reap-stale", handler: .reapStale, operatorOnly: true),
        APIRoute(method: "GET", pattern: "/v1/backends", handler: .backends),
        APIRoute(method: "GET", pattern: "/v1/profiles", handler: .profiles),
        APIRoute(method: "GET", pattern: "/v1/events", handler: .events),
        APIRoute(method: "GET", pattern: "/v1/events/failed", handler: .failedEvents, operatorOnly: true),
        APIRoute(method: "GET", pattern: "/v1/sandboxes/{id}/explain", handler: .explain),
        APIRoute(method: "GET", pattern: "/v1/sandboxes/{id}/endpoints", handler: .endpoints),
    ]

    /// The route for `method` and `path`, or the error to answer (404, or 405 with `Allow`).
    static func resolve(method: String, path: String) -> Result<(APIRoute, [String: String]), APIError> {
        // Literal routes win over parameter routes (`/v1/sandboxes/expire` is not an id).
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        let candidates = all.compactMap { r in r.match(parts: parts).map { (r, $0) } }
            .sorted { a, b in a.1.count < b.1.count }
        guard !candidates.isEmpty else { return .failure(.notFound("No route for \(path).")) }
        if let hit = candidates.first(where: { $0.0.method == method || (method == "HEAD" && $0.0.method == "GET") }) {
            return .success(hit)
        }
        let allowed = Array(Set(candidates.map(\.0.method))).sorted()
        var error = APIError(405, "method_not_allowed", "\(method) is not allowed on \(path) (allowed: \(allowed.joined(separator: ", "))).")
        error.headers = [("Allow", allowed.joined(separator: ", "))]
        return .failure(error)
    }
}
