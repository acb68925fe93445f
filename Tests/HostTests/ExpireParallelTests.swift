import Foundation
import Synchronization
import Testing
@testable import Core
@testable import Lifecycle

/// `expire --apply` tears due sandboxes down side by side (bounded), and still reports each one.
@Suite struct ExpireParallelTests {
    @Test func dueSandboxesAreDestroyedConcurrentlyAndAllReported() throws {
        let f = try WarningFixture()
        var ids: [String] = []
        for _ in 0..<6 { ids.append(try f.service.create(CreateOptions(profile: "plain")).sandbox.id) }
        // A barrier: each destroy waits (bounded) until six are inside at once. Serial teardown could
        // never get past one, so every wait would time out and the peak would stay 1.
        let inside = Mutex(0)
        let peak = Mutex(0)
        let arrived = NSCondition()
        f.backend.onDestroy.withLock {
            $0 = {
                let now = inside.withLock { $0 += 1; return $0 }
                peak.withLock { $0 = max($0, now) }
                arrived.lock()
                arrived.broadcast()
                let deadline = Date().addingTimeInterval(10)
                while inside.withLock({ $0 }) < 6, arrived.wait(until: deadline) {}
                arrived.unlock()
            }
        }
        f.clock.advance(2 * 3600)
        let items = try f.service.expire(apply: true)
        #expect(peak.withLock { $0 } == 6)
        #expect(items.map(\.sandbox.id).sorted() == ids.sorted())
        #expect(items.allSatisfy { $0.outcome == .destroyed })
        for id in ids { #expect(try f.service.get(id).state == .destroyed) }
        // A second apply finds nothing left.
        #expect(try f.service.expire(apply: true).isEmpty)
    }
}
