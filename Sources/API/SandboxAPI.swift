import Dispatch
import FoundationEssentials
import Glibc
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

/// The HTTP API over `SandboxService`: the same operations as the CLI, as JSON.
public final class SandboxAPI: Sendable {
    /// Who is calling, established from the bearer token.
    struct Caller: Sendable {
        var name: String
        var role: ServerSettings.Token.Role
        var isOperator: Bool { role == .operator }
    }

    let service: SandboxService
    let settings: ServerSettings
    public let metrics: Metrics
    /// The OpenAPI document as JSON bytes, built once.
    let openAPIJSON: Data
    /// Bounds `GET /v1/events?wait=` long polls; `serve` closes it on shutdown.
    package let longPolls = LongPollGate()
    /// Bounds requests that hold a worker for long (exec), in total and per token.
    package let longRequests: LongRequestGate
    /// Sandboxes read by id with their rendered JSON, exact against every store write (see the type).
    let sandboxCache = SandboxJSONCache()

    /// Fails, with one line naming the problem, when the embedded OpenAPI document does not parse:
    /// `serve` then stops before it listens rather than serve a broken contract.
    public convenience init(service: SandboxService, settings: ServerSettings, metrics: Metrics = Metrics()) throws(SandboxerError) {
        try self.init(service: service, settings: settings, metrics: metrics, openAPIYAML: OpenAPIDocument.yaml)
    }

    /// `openAPIYAML` is the seam tests use to inject a broken document.
    init(service: SandboxService, settings: ServerSettings, metrics: Metrics, openAPIYAML: String) throws(SandboxerError) {
        self.service = service
        self.settings = settings
        self.metrics = metrics
        self.longRequests = LongRequestGate(total: settings.maxLongRequests, perCaller: settings.maxLongRequestsPerToken)
        self.openAPIJSON = Data(try OpenAPIDocument.json(openAPIYAML).rendered(pretty: false).utf8)
    }

    /// Requests cheap enough to answer on the server's priority threads, ahead of any queue:
    /// health checks and metrics must answer while every worker runs a long exec.
    public func isPriority(_ request: HTTPRequest) -> Bool {
        (request.method == "GET" || request.method == "HEAD") && (request.path == "/healthz" || request.path == "/metrics")
    }

    /// Answers one request. Never throws: every failure becomes a JSON error with a fitting status.
    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        let started = DispatchTime.now()
        var routeName = "unmatched"
        let response: HTTPResponse
        switch APIRoute.resolve(method: request.method, path: request.path) {
        case .failure(let error):
            response = error.response
        case .success(let (route, params)):
            routeName = route.pattern
            do throws(APIError) {
                let caller = try authenticate(request, access: route.access)
                let context = RouteContext(request: request, caller: caller)
                if route.holdsWorker {
                    // A streamed answer keeps its worker until the body ends: the place is held as long.
                    let place = try longRequests.enter(caller: caller.name)
                    do throws(APIError) { response = try run(route, params: params, context: context) } catch {
                        place.leave()
                        throw error
                    }
                    if let stream = response.stream { stream.whenFinished { place.leave() } } else { place.leave() }
                } else {
                    response = try run(route, params: params, context: context)
                }
            } catch {
                response = error.response
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        metrics.recordRequest(method: Metrics.methodLabel(request.method), route: routeName, status: response.status, seconds: seconds)
        return response
    }

    /// Resolves and authorizes what the route takes, then runs its handler: the only place a
    /// sandbox or snapshot id from a request becomes a value a handler can act on.
    func run(_ route: APIRoute, params: [String: String], context: RouteContext) throws(APIError) -> HTTPResponse {
        func pathID() throws(APIError) -> String {
            guard let id = params["id"] else {
                throw APIError(500, "internal", "The route \(route.method) \(route.pattern) takes an id but its pattern has none.")
            }
            return id
        }
        switch route.handler {
        case .plain(let body):
            return try body(self)(context)
        case .sandbox(let body):
            return try body(self)(context, try visibleSandbox(try pathID(), caller: context.caller))
        case .snapshot(let body):
            return try body(self)(context, try visibleSnapshot(try pathID(), owner: context.owner))
        case .sandboxInQuery(let name, let body):
            var sandbox: Sandbox? = nil
            if let id = context.request.query[name]?.last { sandbox = try visibleSandbox(id, caller: context.caller) }
            return try body(self)(context, sandbox)
        case .image(let body):
            let id = try pathID()
            return try body(self)(context, try call { () throws(SandboxerError) in try service.image(id) })
        }
    }

    /// Checks the bearer token (constant-time against every configured hash) against the route's access.
    func authenticate(_ request: HTTPRequest, access: APIRoute.Access) throws(APIError) -> Caller {
        if settings.tokens.isEmpty { return Caller(name: "local", role: .operator) }
        if access == .unauthenticated { return Caller(name: "anonymous", role: .consumer) }
        var unauthorized = APIError(401, "unauthorized", "A valid bearer token is required (Authorization: Bearer TOKEN).")
        unauthorized.headers = [("WWW-Authenticate", "Bearer realm=\"sandboxer\"")]
        guard let header = request.headers["Authorization"], header.count > 7,
              header.prefix(7).lowercased() == "bearer " else { throw unauthorized }
        let digest = SHA256.hash(Array(header.dropFirst(7).trimmingSpaces().utf8))
        var found: ServerSettings.Token? = nil
        // Compare against every token so the time taken does not reveal which one matched.
        for token in settings.tokens {
            if SHA256.constantTimeEqual(digest, Self.bytes(hex: token.sha256)) { found = token }
        }
        guard let token = found else { throw unauthorized }
        let caller = Caller(name: token.name, role: token.role)
        if access == .operatorOnly && !caller.isOperator {
            throw APIError(403, "forbidden", "This route needs the operator role; token '\(token.name)' is a consumer.")
        }
        return caller
    }

    static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var chars = Array(hex.utf8)[...]
        while chars.count >= 2 {
            let pair = String(decoding: chars.prefix(2), as: UTF8.self)
            out.append(UInt8(pair, radix: 16) ?? 0)
            chars = chars.dropFirst(2)
        }
        return out
    }

    /// The sandbox `id` if `caller` may see it; a consumer gets 404 for another's sandbox (the same
    /// answer as for no sandbox, so ids of others cannot be probed). Private: only `run` resolves ids.
    private func visibleSandbox(_ id: String, caller: Caller) throws(APIError) -> Sandbox {
        let sandbox = try cachedSandbox(id)
        guard caller.isOperator || sandbox.labels[SandboxLabels.owner] == caller.name else {
            throw APIError.notFound("No sandbox with id '\(id)'.")
        }
        return sandbox
    }

    /// The snapshot `ref` (id or name) if the caller may see it; another consumer's is 404.
    private func visibleSnapshot(_ ref: String, owner: String?) throws(APIError) -> Snapshot {
        try call { () throws(SandboxerError) in try service.resolveSnapshot(ref, owner: owner) }
    }

    /// Runs a service call, turning its error into an HTTP error.
    func call<T>(_ body: () throws(SandboxerError) -> T) throws(APIError) -> T {
        do { return try body() } catch { throw APIError(error) }
    }

    func json(_ status: Int, _ value: JSONValue) -> HTTPResponse {
        HTTPResponse.json(status, Data(value.rendered(pretty: false).utf8))
    }
}
