import Basics
import PluginProtocol
/// A profile's TTL rules: the TTL a sandbox gets when the request names none, the cap on its total
/// lifetime from `ready_at`, and the optional idle timeout.
public struct TTLPolicy: Sendable, Equatable {
    public var defaultTTL: TTLDuration
    public var max: TTLDuration
    /// nil disables idle reaping.
    public var idleReap: TTLDuration?
    /// How long before `expires_at` the `expiry_warning` event goes out; nil sends none.
    public var expiryWarning: TTLDuration?

    /// Used when a profile has no `ttl` block, or leaves out `default` or `max`.
    public static let fallbackDefault = TTLDuration(seconds: 3_600)
    public static let fallbackMax = TTLDuration(seconds: 86_400)

    public init(defaultTTL: TTLDuration = fallbackDefault, max: TTLDuration = fallbackMax, idleReap: TTLDuration? = nil,
                expiryWarning: TTLDuration? = nil) {
        self.defaultTTL = defaultTTL; self.max = max; self.idleReap = idleReap; self.expiryWarning = expiryWarning
    }
}
