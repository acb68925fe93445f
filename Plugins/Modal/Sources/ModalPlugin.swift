import Foundation
import PluginKit
import Synchronization

/// The Modal backend: sandboxes on Modal through its gRPC API (HTTP/2 via libcurl, protobuf encoded
/// by hand), exec through the task command router (see docs/backends/modal.md).
///
/// Modal cannot extend a sandbox's timeout, so `sandboxer.timeout/1` is not declared: `create`
/// installs the latest deadline the profile allows as the backstop and the host's TTL stays in charge.
public final class ModalPlugin: SandboxerPlugin {
    public static let name = "modal"
    public static let version = "0.1.0"
    /// The reachability capability (`endpoints`), defined by the host's reach work.
    static let reach = "sandboxer.reach/1"
    public static let capabilities = [Capability.lifecycle, Capability.exec, Capability.inventory, Capability.snapshot, reach]

    /// Modal's cap on a sandbox's lifetime.
    static let maxTimeoutSeconds: Int64 = 86_400
    /// Used when the host sends no deadline at all.
    static let defaultTimeoutSeconds: Int64 = 3_600

    let config: ModalConfig
    let host: PluginHost
    /// Made on first use: describe needs no credentials, and a missing secret is reported by the
    /// operation that needed it.
    private let rpcState = Mutex<ModalRPC?>(nil)
    let cache = Mutex(ModalCache())

    /// Builds an instance from the backend config (see `ModalConfig`).
    public init(config: JSONValue, host: PluginHost) throws(PluginError) {
        self.config = try ModalConfig(json: config)
        self.host = host
    }

    /// The RPC layer, resolving the token through the host's secret lookup the first time.
    func rpc() throws(PluginError) -> ModalRPC {
        if let ready = rpcState.withLock({ $0 }) { return ready }
        guard let tokenID = host.secret(config.tokenIDSecret), !tokenID.isEmpty else {
            throw PluginError(.invalidRequest, "The host has no secret '\(config.tokenIDSecret)' (the modal backend's token_id_secret); set it to the Modal token id.")
        }
        guard let tokenSecret = host.secret(config.tokenSecretSecret), !tokenSecret.isEmpty else {
            throw PluginError(.invalidRequest, "The host has no secret '\(config.tokenSecretSecret)' (the modal backend's token_secret_secret) for token id \(tokenID).")
        }
        let made = try ModalRPC(serverURL: config.serverURL, tokenID: tokenID, tokenSecret: tokenSecret,
                                callTimeout: config.callTimeout)
        return rpcState.withLock { state in
            if let ready = state { return ready }
            state = made
            return made
        }
    }

    /// Adds `endpoints` (`sandboxer.reach/1`), which this kit's dispatcher does not know yet.
    public func invoke(operation: String, request: Data, call: PluginCall) throws(PluginError) -> Data {
        if operation == "endpoints" { return try endpoints(json: request, call: call) }
        return try PluginDispatch.dispatch(self, operation: operation, request: request, call: call)
    }

    /// The host's clock in milliseconds since the epoch.
    func nowMs() -> Int64 { Int64((host.now().timeIntervalSince1970 * 1000).rounded()) }
}

/// What the plugin remembers between calls: resolved names, and per-sandbox task and router access.
struct ModalCache: Sendable {
    var builderVersion: String?
    var appID: String?
    /// Registry tag → image id.
    var images: [String: String] = [:]
    /// Sandbox id → task id.
    var tasks: [String: String] = [:]
    /// Task id → command router access.
    var routers: [String: CommandRouterAccess] = [:]

    /// Drops what is known of one sandbox (terminated or gone).
    mutating func forget(sandbox: String) {
        if let task = tasks.removeValue(forKey: sandbox) { routers.removeValue(forKey: task) }
    }

    /// Keeps the per-sandbox maps bounded for a long-lived host.
    mutating func trim() {
        if tasks.count > 4096 { tasks.removeAll() }
        if routers.count > 4096 { routers.removeAll() }
        if images.count > 256 { images.removeAll() }
    }
}
