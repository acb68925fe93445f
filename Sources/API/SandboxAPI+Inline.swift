import Dispatch
import FoundationEssentials
import Dispatch
import HTTPServer
import Store
import Core
import Basics

extension SandboxAPI {
    /// Answers `request` on the HTTP server's event-loop thread when that cannot block, else nil (it
    /// then runs on a worker through `handle`, as every request used to). Only `GET
    /// /v1/sandboxes/{id}` qualifies, and only when its row is cached, still current, and the
    /// store's lock is free this instant: no store read of a row, no waiting on another thread's
    /// write. The answer, its metrics and its access-log line are the ones `handle` would give;
    /// anything short of a plain 200 (401, 403, 404) is left to the worker to answer.
    public func handleInline(_ request: HTTPRequest) -> HTTPResponse? {
        guard request.method == "GET", request.path.hasPrefix("/v1/sandboxes/") else { return nil }
        let started = DispatchTime.now()
        guard case .success(let (route, params)) = APIRoute.resolve(method: request.method, path: request.path),
              route.pattern == Self.showPattern, let id = params["id"],
              let caller = try? authenticate(request, access: route.access),
              let hit = try? sandboxCache.lookupIfCurrent(id, in: service.store),
              caller.isOperator || hit.sandbox.labels[SandboxLabels.owner] == caller.name
        else { return nil }
        let response = HTTPResponse.json(200, hit.json)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        metrics.recordRequest(method: request.method, route: route.pattern, status: response.status, seconds: seconds)
        return response
    }

    /// The route answered inline.
    static let showPattern = "/v1/sandboxes/{id}"

    /// The sandbox `id` through the cache; the errors (malformed id, no such sandbox) are the
    /// service's own, word for word.
    func cachedSandbox(_ id: String) throws(APIError) -> Sandbox {
        guard SandboxID.isWellFormed(id) else { return try call { () throws(SandboxerError) in try service.get(id) } }
        let found = try call { () throws(SandboxerError) in
            try service.storeCall { () throws(StoreError) in try sandboxCache.lookup(id, in: service.store) }
        }
        guard let found else { return try call { () throws(SandboxerError) in try service.get(id) } }
        return found.sandbox
    }
}
