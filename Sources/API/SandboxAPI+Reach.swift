import FoundationEssentials
import Glibc
import HTTPServer
import Lifecycle
import Core
import Basics
import PluginProtocol

extension SandboxAPI {
    /// `GET /v1/sandboxes/{id}/endpoints[?port=N…][&probe=true][&reveal=true]`: the reachability
    /// descriptor (`sandboxer.reach/v1`). The router has already limited a consumer to its own sandboxes
    /// (another's is a 404), so `reveal` is for the owner and operators only; revealed answers are never cached.
    func endpoints(_ c: RouteContext, _ sandbox: Sandbox) throws(APIError) -> HTTPResponse {
        let request = c.request
        var ports: [Int] = []
        for text in request.query["port"] ?? [] {
            guard text.count <= 5, let port = Int(text), (1...65535).contains(port) else {
                throw APIError.badRequest("The query parameter 'port' must be a port number from 1 to 65535, not '\(text.prefix(20))'.")
            }
            ports.append(port)
        }
        let probe = try flag(request, "probe")
        let reveal = try flag(request, "reveal")
        var descriptor = try call { () throws(SandboxerError) in try service.endpoints(sandbox.id, ports: ports, reveal: reveal) }
        if probe { descriptor = ReachProbe.run(descriptor) }
        var response = json(200, descriptor.jsonValue)
        if reveal { response.headers.set("Cache-Control", "no-store") }
        return response
    }
}
