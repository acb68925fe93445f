import Foundation
import Testing
@testable import Core
@testable import Store
@testable import Lifecycle

/// Two extends of one sandbox whose reads interleave: both add their time.
@Suite struct ExtendRaceTests {
    @Test func twoExtendsFromTheSameReadBothCount() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "default")).sandbox
        let stale = try f.service.get(s.id)
        let first = try f.service.extendTTL(s.id, duration: "1h", by: "alice")
        // Before: the second write, from the stale read, set the deadline to the same +1h the first
        // had (and answered a deadline that matched the row only by luck).
        let second = try f.service.extend(stale, bySeconds: 3600, by: "bob")
        let row = try f.service.get(s.id)
        #expect(first.to == s.expiresAt?.addingTimeInterval(3600))
        #expect(second.from == first.to)
        #expect(row.expiresAt == second.to)
        #expect(row.expiresAt == s.expiresAt?.addingTimeInterval(7200))
        let extended = try f.service.events(sandboxId: s.id, since: nil, limit: nil).filter { $0.type == "ttl_extended" }
        #expect(extended.count == 2)
    }

    @Test func anExtendRacingACommandStartIsNotAConflict() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "default")).sandbox
        let stale = try f.service.get(s.id)
        try f.service.beginActivity(stale)   // ready → active after the extend read the row
        let outcome = try f.service.extend(stale, bySeconds: 3600, by: "alice")
        let row = try f.service.get(s.id)
        #expect(row.state == .active)
        #expect(row.expiresAt == outcome.to)
    }

    @Test func anExtendOfASandboxDestroyedMeanwhileSaysSo() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "default")).sandbox
        let stale = try f.service.get(s.id)
        _ = try f.service.destroy(s.id)
        let error = #expect(throws: SandboxerError.self) { try f.service.extend(stale, bySeconds: 3600, by: "alice") }
        #expect(error?.code == .conflict)
    }
}
