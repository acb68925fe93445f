import Foundation
import PluginKit

/// `endpoints` request (capability `sandboxer.reach/1`): which ports of a sandbox to reach.
struct EndpointsRequest: Decodable {
    static let operation = "endpoints"
    var sandboxId: String
    var backendRef: String
    var ports: [Int]
    enum CodingKeys: String, CodingKey { case sandboxId = "sandbox_id", backendRef = "backend_ref", ports }
}

/// `endpoints` response: one `sandboxer.reach/v1` endpoint per port.
struct EndpointsResponse: Encodable {
    struct Auth: Encodable {
        var scheme: String
        var name: String?
        var secretRef: String?
        enum CodingKeys: String, CodingKey { case scheme, name, secretRef = "secret_ref" }
    }
    struct Endpoint: Encodable {
        var name: String
        var kind: String
        var targetPort: Int
        var host: String
        var port: Int
        var url: String
        var tls: Bool
        var auth: Auth
        enum CodingKeys: String, CodingKey { case name, kind, targetPort = "target_port", host, port, url, tls, auth }
    }
    var endpoints: [Endpoint]
}

extension E2BPlugin {
    /// The header E2B's proxy checks on traffic to a sandbox that was created with a traffic token.
    static let trafficHeader = "e2b-traffic-access-token"

    /// `https://<port>-<id>.<domain>` per port. Whether the sandbox has a traffic token (and its
    /// domain) comes from `POST /v2/sandboxes/{id}/connect` with a 1 s timeout, which only ever
    /// lengthens a deadline, so it changes nothing. The token itself is never in the answer: only
    /// a reference to it.
    func endpoints(_ request: EndpointsRequest, call: PluginCall) throws(PluginError) -> EndpointsResponse {
        let context = E2BContext.sandbox(EndpointsRequest.operation, request.sandboxId)
        guard Self.isUsableId(request.backendRef) else { throw context.fail(.notFound, "it has no E2B sandbox id") }
        guard !request.ports.isEmpty, request.ports.count <= 64, request.ports.allSatisfy({ (1...65535).contains($0) }) else {
            throw context.fail(.invalidRequest, "ports must list 1 to 64 port numbers from 1 to 65535")
        }
        let response = try api.send(E2BAPI.Request(method: "POST", path: "/v2/sandboxes/\(E2BAPI.segment(request.backendRef))/connect",
                                                   body: E2BAPI.encode(TimeoutBody(timeout: 1)), idempotent: true),
                                    context: context, call: call)
        let sandbox = try api.decode(CreatedSandbox.self, response, what: "a sandbox", context: context)
        let domain = sandbox.domain.flatMap { E2BConfig.isHostName($0) ? $0.lowercased() : nil } ?? config.domain
        let auth = sandbox.trafficAccessToken == nil
            ? EndpointsResponse.Auth(scheme: "none")
            : EndpointsResponse.Auth(scheme: "header", name: Self.trafficHeader,
                                     secretRef: "e2b:sandbox/\(request.backendRef)/traffic-access-token")
        return EndpointsResponse(endpoints: request.ports.map { port in
            let host = "\(port)-\(request.backendRef).\(domain)"
            return EndpointsResponse.Endpoint(name: "port-\(port)", kind: "https", targetPort: port, host: host, port: 443,
                                              url: "https://\(host)", tls: true, auth: auth)
        })
    }
}
