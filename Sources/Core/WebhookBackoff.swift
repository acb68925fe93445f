import FoundationEssentials
import Glibc
import Basics
import PluginProtocol

/// How long a failed delivery waits before its next attempt: exponential, capped, with jitter.
public struct WebhookBackoff: Sendable, Equatable {
    /// The delay after the first failed attempt (before jitter).
    public var initial: TTLDuration
    /// No delay exceeds this (before jitter).
    public var max: TTLDuration

    public init(initial: TTLDuration = TTLDuration(seconds: 1), max: TTLDuration = TTLDuration(seconds: 600)) {
        self.initial = initial; self.max = max
    }

    /// Seconds to wait after failed attempt number `attempt` (1-based):
    /// `min(max, initial · 2^(attempt-1))` scaled by `0.5 + 0.5 · unit`, where `unit` in [0, 1] is the
    /// random draw. Jitter spreads the retries of many deliveries that failed together (a receiver
    /// outage) instead of sending them back in one burst.
    public func delay(afterAttempt attempt: Int, unit: Double) -> Double {
        let exponent = Swift.max(0, Swift.min(attempt - 1, 62))   // 2^62 s is past any cap: no overflow
        let base = Swift.min(Double(max.seconds), Double(initial.seconds) * Double(sign: .plus, exponent: exponent, significand: 1))
        let draw = unit.isFinite ? Swift.min(1, Swift.max(0, unit)) : 1
        return base * (0.5 + 0.5 * draw)
    }

    /// The same, drawing the jitter from `generator`.
    public func delay<G: RandomNumberGenerator>(afterAttempt attempt: Int, using generator: inout G) -> Double {
        delay(afterAttempt: attempt, unit: Double.random(in: 0...1, using: &generator))
    }
}
