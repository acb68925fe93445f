import FoundationEssentials
import Glibc
import Core
import Config
import Store
import Backends
import PluginProtocol
import Basics

extension SandboxService {
    /// Explains sandbox `id`: why it is still alive, or why and when it will be (or was) reaped.
    public func explain(_ id: String) throws(SandboxerError) -> Explanation {
        let sandbox = try get(id)
        let events = try storeCall { () throws(StoreError) in try store.events(sandboxId: id, since: nil, limit: nil) }
        // Whether the backend's own deadline follows extensions; explain still answers without the plugin.
        let extends = (try? backends.backend(named: sandbox.backend)).map { $0.supports(Capability.timeout) }
        return Explanation(sandbox: sandbox, events: events, profile: config.profiles[sandbox.profile], now: now,
                           backendExtends: extends)
    }
}
