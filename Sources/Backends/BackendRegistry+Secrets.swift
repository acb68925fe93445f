import Core
import PluginProtocol

extension BackendRegistry {
    /// The host's secret `name`, from the same lookup plugins call (`SANDBOXER_SECRET_<NAME>`): how
    /// the host resolves an endpoint's `secret_ref` when the sandbox's owner asks to reveal it.
    package func secret(_ name: String) -> String? {
        context.secret(name)
    }
}
