import Testing
@testable import Basics
@testable import HTTPServer
@testable import YAMLSubset
@testable import PluginProtocol
@testable import Core
@testable import Config
@testable import Store
@testable import Backends
@testable import Lifecycle
@testable import Webhooks
@testable import API
@testable import CLI

/// The retry delay: exponential from `initial`, capped at `max`, scaled by a jitter factor in [0.5, 1].
@Suite struct WebhookBackoffTests {
    static let backoff = WebhookBackoff(initial: TTLDuration(seconds: 1), max: TTLDuration(seconds: 600))

    @Test func doublesUntilTheCap() {
        let full = (1...12).map { Self.backoff.delay(afterAttempt: $0, unit: 1) }
        #expect(full == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600])
        let half = (1...12).map { Self.backoff.delay(afterAttempt: $0, unit: 0) }
        #expect(half == [0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300])
    }

    @Test(arguments: [1, 2, 5, 10, 11, 40, 63, 64, 1000, Int.max])
    func staysWithinBoundsForAnyDraw(attempt: Int) {
        let base = min(600, pow2(attempt - 1))
        for unit in stride(from: 0.0, through: 1.0, by: 0.125) {
            let delay = Self.backoff.delay(afterAttempt: attempt, unit: unit)
            #expect(delay >= base / 2 && delay <= base, "attempt \(attempt), unit \(unit): \(delay)")
        }
    }

    @Test func outOfRangeDrawsAreClamped() {
        #expect(Self.backoff.delay(afterAttempt: 3, unit: -5) == 2)
        #expect(Self.backoff.delay(afterAttempt: 3, unit: 7) == 4)
        #expect(Self.backoff.delay(afterAttempt: 3, unit: .nan) == 4)
        #expect(Self.backoff.delay(afterAttempt: 0, unit: 1) == 1)   // attempt numbers start at 1
    }

    @Test func drawsFromTheInjectedGenerator() {
        var a = SeededGenerator(seed: 7), b = SeededGenerator(seed: 7)
        let first = (1...8).map { Self.backoff.delay(afterAttempt: $0, using: &a) }
        let second = (1...8).map { Self.backoff.delay(afterAttempt: $0, using: &b) }
        #expect(first == second)
        #expect(Set(first.enumerated().map { $0.element / min(600, pow2($0.offset)) }).count > 1, "jitter varies")
    }

    func pow2(_ n: Int) -> Double { n >= 62 ? .infinity : Double(1 << max(0, n)) }
}
