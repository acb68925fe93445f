import HTTPServer
import Core

/// One route of the HTTP API: method, path pattern, who may call it, and what it takes.
///
/// Authorization is the router's job, not the handlers': every route declares its `Access`, and a
/// route that names a sandbox or snapshot says so in its `Handler` case. The router checks both once,
/// before any handler runs, and hands the handler the sandbox or snapshot the caller may see. A
/// handler never gets a bare id, so it cannot act on another consumer's sandbox by forgetting a check.
/// A class: the router walks the table on every request, and copying a struct of strings, arrays
/// and a closure retained and released each of them per route walked.
final class APIRoute: Sendable {
    /// Who may call a route (with no tokens configured, every caller is the local operator).
    enum Access: Sendable, Equatable {
        /// No token needed (`/healthz`, `/openapi.json`).
        case unauthenticated
        /// Any valid token; consumers see only their own sandboxes and snapshots.
        case anyToken
        /// A token with the operator role; a consumer gets 403.
        case operatorOnly
    }

    /// A handler: a `SandboxAPI` method taking the context and what the route takes (`SandboxAPI.exec`).
    typealias Body<Resource> = @Sendable (SandboxAPI) -> @Sendable (RouteContext, Resource) throws(APIError) -> HTTPResponse

    /// What the router resolves and authorizes before the handler runs, and the handler to run.
    enum Handler: Sendable {
        /// Takes no sandbox or snapshot.
        case plain(@Sendable (SandboxAPI) -> @Sendable (RouteContext) throws(APIError) -> HTTPResponse)
        /// Takes the sandbox named by the `{id}` path parameter; another consumer's is 404.
        case sandbox(Body<Sandbox>)
        /// Takes the snapshot named (by id or name) by the `{id}` path parameter; another consumer's is 404.
        case snapshot(Body<Snapshot>)
        /// Takes the sandbox the query parameter `query` names, if the request has one; another
        /// consumer's is 404.
        case sandboxInQuery(String, Body<Sandbox?>)
        /// Takes the image named by the `{id}` path parameter (image routes are operator only).
        case image(Body<Image>)

        /// Whether the pattern must have the `{id}` parameter this handler is given.
        var takesPathID: Bool {
            switch self {
            case .sandbox, .snapshot, .image: return true
            case .plain, .sandboxInQuery: return false
            }
        }
    }

    let method: String
    let pattern: String
    let access: Access
    let handler: Handler
    /// True for routes whose handler may hold a worker for long (exec): they pass `LongRequestGate`.
    let holdsWorker: Bool

    /// The pattern split once (route matching runs on every request).
    let segments: [Substring]
    /// The pattern's segments as bytes, and each one's parameter name (nil for a literal segment):
    /// what `resolve` compares an ASCII path with.
    let segmentBytes: [[UInt8]]
    let parameterNames: [String?]
    /// How many distinct path parameters the pattern names (literal routes have none and win).
    let parameterCount: Int

    /// Access and handler have no defaults: a route cannot be declared without saying who may call it
    /// and what it takes.
    init(_ method: String, _ pattern: String, _ access: Access, _ handler: Handler, holdsWorker: Bool = false) {
        self.method = method; self.pattern = pattern; self.access = access; self.handler = handler
        self.holdsWorker = holdsWorker
        self.segments = pattern.split(separator: "/")
        self.parameterCount = Set(segments.filter { $0.hasPrefix("{") }).count
        self.segmentBytes = segments.map { Array($0.utf8) }
        self.parameterNames = segments.map { $0.hasPrefix("{") ? String($0.dropFirst().dropLast()) : nil }
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
}

/// What a handler gets besides its sandbox or snapshot: the request and the authenticated caller.
struct RouteContext: Sendable {
    let request: HTTPRequest
    let caller: SandboxAPI.Caller

    /// The owner a consumer's listings are limited to; nil for the operator (everything).
    var owner: String? { caller.isOperator ? nil : caller.name }
}
