import Basics
import PluginProtocol

/// An enabled backend: the plugin library to load and the configuration handed to it.
public struct BackendConfig: Sendable, Equatable {
    public var name: String
    /// Absolute, normalized path of the plugin's shared library.
    public var plugin: String
    /// The backend's own `config` block as JSON (an empty object when the file has none).
    public var config: JSONValue

    public init(name: String, plugin: String, config: JSONValue = .object([:])) {
        self.name = name; self.plugin = plugin; self.config = config
    }
}
