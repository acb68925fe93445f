import Foundation
import PluginKit

/// `endpoints` request (`sandboxer.reach/1`): the sandbox and, optionally, which container ports.
struct EndpointsRequest: Decodable {
    var sandboxId: String
    var backendRef: String
    var ports: [Int]?
    enum CodingKeys: String, CodingKey { case sandboxId = "sandbox_id", backendRef = "backend_ref", ports }
}

/// One endpoint of the reach descriptor.
struct Endpoint: Encodable, Equatable {
    struct Auth: Encodable, Equatable { var scheme: String }
    var name: String
    var kind: String
    var targetPort: Int
    var host: String
    var port: Int
    var url: String?
    var tls: Bool
    var auth = Auth(scheme: "none")
    enum CodingKeys: String, CodingKey { case name, kind, targetPort = "target_port", host, port, url, tls, auth }
}

extension ModalPlugin {
    /// `endpoints`: the sandbox's tunnels. An encrypted port is an HTTPS URL (Modal terminates
    /// TLS); an unencrypted one is a raw TCP host:port. Only ports declared in the backend config
    /// (`encrypted_ports`, `unencrypted_ports`) have tunnels: Modal opens them at create.
    func endpoints(json: Data, call: PluginCall) throws(PluginError) -> Data {
        let request: EndpointsRequest
        do { request = try JSONDecoder().decode(EndpointsRequest.self, from: json.isEmpty ? Data("{}".utf8) : json) }
        catch { throw PluginError(.invalidRequest, "The 'endpoints' request is not valid JSON for this operation.") }
        let sandboxID = try Self.sandboxID(request.backendRef)
        let answer: SandboxGetTunnelsResponse
        do {
            answer = try rpc().api("SandboxGetTunnels", SandboxIDRequest(sandboxID: sandboxID, timeout: 10), idempotent: true,
                                   timeout: config.callTimeout + 10, call: call)
        } catch where error.code == .conflict {
            throw PluginError(.notFound, "The Modal sandbox \(sandboxID) has ended, so it has no tunnels.")
        }
        let all = answer.tunnels.map(Self.endpoint)
        guard let wanted = request.ports, !wanted.isEmpty else {
            return try Self.encode(["endpoints": all.sorted { $0.targetPort < $1.targetPort }])
        }
        var chosen: [Endpoint] = []
        for port in wanted {
            guard let match = all.first(where: { $0.targetPort == port }) else {
                let declared = all.map { String($0.targetPort) }.sorted().joined(separator: ", ")
                throw PluginError(.invalidRequest, "Port \(port) of sandbox \(request.sandboxId) has no Modal tunnel; tunnels exist only for the ports in the backend's encrypted_ports/unencrypted_ports (here: \(declared.isEmpty ? "none" : declared)).")
            }
            chosen.append(match)
        }
        return try Self.encode(["endpoints": chosen])
    }

    static func endpoint(_ tunnel: TunnelData) -> Endpoint {
        let target = Int(tunnel.containerPort)
        if let host = tunnel.unencryptedHost, let port = tunnel.unencryptedPort {
            return Endpoint(name: "port-\(target)", kind: "tcp", targetPort: target, host: host, port: Int(port), url: nil, tls: false)
        }
        let url = tunnel.port == 443 ? "https://\(tunnel.host)" : "https://\(tunnel.host):\(tunnel.port)"
        return Endpoint(name: "port-\(target)", kind: "https", targetPort: target, host: tunnel.host, port: Int(tunnel.port),
                        url: url, tls: true)
    }

    static func encode(_ value: some Encodable) throws(PluginError) -> Data {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return try encoder.encode(value)
        } catch {
            throw PluginError(.internal, "The plugin could not encode its response: \(error).")
        }
    }
}
