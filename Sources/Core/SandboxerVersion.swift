import Basics
import PluginProtocol
/// The host's version, as `sandboxer version`, user agents and `/healthz` report it.
public enum SandboxerVersion {
    public static let current = "0.1.0"
}
