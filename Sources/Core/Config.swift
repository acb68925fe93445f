import Basics
import PluginProtocol
/// The host's whole configuration, validated: where data lives, which backends load, which profiles exist.
public struct Config: Sendable, Equatable {
    /// Absolute directory for the store and sandbox state.
    public var dataDir: String
    /// Stable identity of this host, put on every backend resource it creates (nil: the host derives one).
    public var hostId: String?
    public var backends: [String: BackendConfig]
    public var profiles: [String: Profile]
    /// Settings of `sandboxer serve`.
    public var server = ServerSettings()
    /// Sinks the events outbox is delivered to (`serve` runs the deliveries); see docs/webhooks.md.
    public var webhooks: [WebhookSink] = []
    /// How long events and delivered webhook rows are kept.
    public var retention = RetentionSettings()
    /// Builder plugins (`builders:`), loaded like backends; profiles name them in `build:`.
    public var builders: [String: BackendConfig] = [:]
    /// The images cache's settings (`images:`).
    public var images = ImageSettings()
    /// Limits of whole-buffer exec (`exec: {max_output_bytes}`).
    public var exec = ExecSettings()
    /// The file it came from, or `DefaultConfig.source` for the embedded default.
    public var source: String

    public init(dataDir: String, hostId: String? = nil, backends: [String: BackendConfig],
                profiles: [String: Profile], source: String) {
        self.dataDir = dataDir; self.hostId = hostId; self.backends = backends
        self.profiles = profiles; self.source = source
    }
}
