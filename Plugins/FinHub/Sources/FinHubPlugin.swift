import Foundation
import PluginKit
import Synchronization

/// The fin-hub backend: sandboxes on another sandboxer (the hub), reached through its HTTP API with
/// a consumer token (see docs/backends/fin-hub.md).
///
/// The local host keeps TTL authority: the hub sandbox's own TTL is our deadline plus `grace`, a
/// backstop for when this host is gone, pushed again on every extend (`sandboxer.timeout/1`).
public final class FinHubPlugin: SandboxerPlugin {
    public static let name = "fin-hub"
    public static let version = "0.1.0"
    public static let capabilities = [Capability.lifecycle, Capability.exec, Capability.inventory, Capability.timeout,
                                      Capability.snapshot, Capability.reach]

    let config: FinHubConfig
    let host: PluginHost
    /// Made on first use: describe needs no token, and a missing secret is reported by the operation
    /// that needed it.
    private let clientState = Mutex<HubClient?>(nil)

    /// Builds an instance from the backend config (see `FinHubConfig`).
    public init(config: JSONValue, host: PluginHost) throws(PluginError) {
        self.config = try FinHubConfig(json: config)
        self.host = host
    }

    /// The hub client, resolving the token through the host's secret lookup the first time.
    func client() throws(PluginError) -> HubClient {
        if let ready = clientState.withLock({ $0 }) { return ready }
        guard let token = host.secret(config.tokenSecret), !token.isEmpty else {
            throw PluginError(.invalidRequest, "The host has no secret '\(config.tokenSecret)' (the fin-hub backend's token_secret); set it to a consumer token of the hub.")
        }
        guard token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }), token.utf8.count <= 4096 else {
            throw PluginError(.invalidRequest, "The host secret '\(config.tokenSecret)' (the fin-hub backend's token_secret) is not a usable bearer token: it must be printable ASCII without spaces.")
        }
        let made = HubClient(baseURL: config.url, token: token, tokenSecretName: config.tokenSecret,
                             callTimeout: config.callTimeout)
        return clientState.withLock { state in
            if let ready = state { return ready }
            state = made
            return made
        }
    }

    /// Adds `endpoints` (`sandboxer.reach/1`), which this kit's dispatcher does not route.
    public func invoke(operation: String, request: Data, call: PluginCall) throws(PluginError) -> Data {
        if operation == Operation.endpoints { return try endpoints(json: request, call: call) }
        return try PluginDispatch.dispatch(self, operation: operation, request: request, call: call)
    }

    /// The path of one hub sandbox, checking the reference first (it goes into a URL).
    static func sandboxPath(_ ref: String) throws(PluginError) -> String {
        guard !ref.isEmpty, ref.utf8.count <= 128, ref.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "/") }) else {
            throw PluginError(.notFound, "'\(HubError.clip(String(ref.prefix(80))))' is not a hub sandbox id, so the hub holds no such sandbox.")
        }
        return "/v1/sandboxes/" + HubClient.escape(ref)
    }

    /// Encodes a response.
    static func encode(_ value: some Encodable) throws(PluginError) -> Data { try HubClient.json(value) }
}
