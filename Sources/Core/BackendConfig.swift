import Basics
import PluginProtocol

/// An enabled backend: the plugin library to load and the configuration handed to it.
public struct BackendConfig: Sendable, Equatable {
    public var name: String
    /// Absolute, normalized path of the plugin's shared library.
    public var plugin: String
    /// The backend's own `config` block as JSON (an empty object when the file has none).
    public var config: JSONValue
    /// Call deadlines from the backend's `timeouts:` map: operation name (or `default`) → duration.
    /// Empty means the host's built-in deadlines.
    public var timeouts: [String: TTLDuration]
    /// The backend's `max_response`: the largest success response accepted from its plugin, in
    /// bytes; nil means the host's default (16 MiB).
    public var maxResponseBytes: Int?
    /// The backend's `isolation`: where its plugin runs; nil means the default for its location
    /// (`PluginIsolation.default(forPlugin:)`).
    public var isolation: PluginIsolation?

    public init(name: String, plugin: String, config: JSONValue = .object([:]), timeouts: [String: TTLDuration] = [:],
                maxResponseBytes: Int? = nil, isolation: PluginIsolation? = nil) {
        self.name = name; self.plugin = plugin; self.config = config
        self.timeouts = timeouts; self.maxResponseBytes = maxResponseBytes
        self.isolation = isolation
    }
}
