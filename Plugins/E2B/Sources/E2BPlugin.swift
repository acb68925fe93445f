import Foundation
import HTTPClient
import PluginKit
import Synchronization

/// The E2B backend: sandboxes on E2B's cloud through its REST API, commands through envd's
/// Connect process service (see docs/backends/e2b.md).
public final class E2BPlugin: SandboxerPlugin {
    public static let name = "e2b"
    public static let version = "0.1.0"
    /// Reachability: the `endpoints` operation (handled in `invoke`, PluginKit does not know it yet).
    public static let reachCapability = "sandboxer.reach/1"
    public static let capabilities = [Capability.lifecycle, Capability.exec, Capability.inventory, Capability.timeout,
                                      Capability.snapshot, reachCapability]

    let config: E2BConfig
    let host: PluginHost
    let api: E2BAPI
    let envd: EnvdClient
    /// envd access tokens by E2B sandbox id, learnt from create or `GET /sandboxes/{id}`: secrets,
    /// kept in memory only, never logged.
    let envdTokens = Mutex<[String: EnvdAccess]>([:])

    /// Builds an instance from the backend config; contacts nothing (describe must work offline).
    public init(config: JSONValue, host: PluginHost) throws(PluginError) {
        self.config = try E2BConfig(json: config)
        self.host = host
        let client = HTTPClient(userAgent: "sandboxer-e2b/\(Self.version)", pool: HTTPConnectionPool())
        self.api = E2BAPI(config: self.config, client: client, host: host)
        self.envd = EnvdClient(client: client, host: host)
    }

    /// Operations PluginKit does not know yet (`endpoints`), then the typed ones.
    public func invoke(operation: String, request: Data, call: PluginCall) throws(PluginError) -> Data {
        if operation == EndpointsRequest.operation {
            let decoded: EndpointsRequest
            do { decoded = try JSONDecoder().decode(EndpointsRequest.self, from: request.isEmpty ? Data("{}".utf8) : request) } catch {
                throw PluginError(.invalidRequest, "The 'endpoints' request is not valid JSON for this operation: it needs sandbox_id, backend_ref and ports.")
            }
            let response = try endpoints(decoded, call: call)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            do { return try encoder.encode(response) } catch {
                throw PluginError(.internal, "The e2b plugin could not encode its endpoints answer.")
            }
        }
        return try PluginDispatch.dispatch(self, operation: operation, request: request, call: call)
    }

    /// The host's clock in milliseconds since the epoch.
    func nowMs() -> Int64 { Int64((host.now().timeIntervalSince1970 * 1000).rounded()) }

    /// The E2B timeout for `seconds` of wanted lifetime: at least 1, at most the plan's cap.
    func cappedTimeout(_ seconds: Int64?) -> (seconds: Int64, capped: Bool) {
        guard let seconds else { return (config.maxTimeoutSeconds, false) }
        if seconds > config.maxTimeoutSeconds { return (config.maxTimeoutSeconds, true) }
        return (max(1, seconds), false)
    }

    /// Whether a backend ref is one of the host's own sandbox ids (`sbx-…`), which the host passes
    /// when a create failed before it learnt E2B's id: such a sandbox is found by its labels.
    static func isHostSandboxId(_ ref: String) -> Bool { ref.hasPrefix("sbx-") }
}

/// What envd needs to run commands in one sandbox.
struct EnvdAccess: Sendable {
    var token: String?
    var domain: String?
}
