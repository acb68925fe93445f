import Core
import PluginProtocol

/// How long the host waits for each call into one backend: the operator's `timeouts:` map from
/// the backend's config, over the host's built-in deadlines.
///
/// A call's deadline is, first match wins: the map's entry for the operation, the map's `default`,
/// then the deadline the caller asked for (the host's built-in one, `BackendRegistry.Timeouts`).
/// An `exec` that names its own `timeout_seconds` keeps the deadline its caller derived from it.
public struct BackendDeadlines: Sendable, Equatable {
    /// Seconds per operation name, plus `default`.
    public var seconds: [String: Double]

    /// The map's key that applies to every operation it does not name.
    public static let defaultKey = "default"

    /// Operation names a `timeouts:` map may name, besides `default`.
    public static let operations = [Operation.describe, Operation.create, Operation.status, Operation.destroy,
                                    Operation.inventory, Operation.exec, Operation.setTimeout, Operation.snapshot,
                                    Operation.restore, Operation.deleteSnapshot, Operation.build]

    public init(seconds: [String: Double] = [:]) {
        self.seconds = seconds
    }

    /// The deadlines a backend's config block names (`timeouts: {default: 300s, create: 10m}`).
    public init(_ config: BackendConfig) {
        // No map (the usual case) takes the empty literal: `mapValues` makes new dictionary storage,
        // whose generic metadata a one-shot CLI would otherwise instantiate at every command (callgrind).
        self.init(seconds: config.timeouts.isEmpty ? [:] : config.timeouts.mapValues { Double($0.seconds) })
    }

    /// The deadline for one call of `operation` whose caller asked for `requested` (nil: no deadline).
    public func resolve(_ operation: String, requested: Double?) -> Double? {
        seconds[operation] ?? seconds[Self.defaultKey] ?? requested
    }
}
