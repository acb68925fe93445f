import Foundation
import Testing
@testable import Core
@testable import Store
@testable import Lifecycle

/// A command's start and end against a row that another command or an extend changed after it was
/// read: the interleavings of concurrent `POST …/exec` calls, replayed one step at a time.
@Suite struct ExecActivityRaceTests {
    @Test func twoCommandsStartingFromTheSameReadBothStart() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "default")).sandbox
        let read1 = try f.service.get(s.id), read2 = try f.service.get(s.id)
        try f.service.beginActivity(read1)
        // The second read still says ready; the row is active now. Before: a 409 "changed before the
        // command could start" for a sandbox that was live all along.
        try f.service.beginActivity(read2)
        #expect(try f.service.get(s.id).state == .active)
        f.service.endActivity(s.id)
        #expect(try f.service.get(s.id).state == .ready)
    }

    @Test func aCommandStartingAfterAnExtendKeepsTheNewDeadline() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "default")).sandbox
        let stale = try f.service.get(s.id)
        let extended = try f.service.extendTTL(s.id, duration: "1h", by: "test")
        f.clock.advance(1)
        try f.service.beginActivity(stale)
        let now = try f.service.get(s.id)
        #expect(now.expiresAt == extended.to)
        #expect(now.expiresAt != stale.expiresAt)
        #expect(now.state == .active)
        #expect(now.lastActivity == "exec")
        #expect(now.updatedAt == f.clock.now().wholeMilliseconds)
    }

    @Test func aCommandCannotStartOnADestroyedSandbox() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "default")).sandbox
        let stale = try f.service.get(s.id)
        _ = try f.service.destroy(s.id)
        let error = #expect(throws: SandboxerError.self) { try f.service.beginActivity(stale) }
        #expect(error?.code == .conflict)
        #expect(try f.service.get(s.id).state == .destroyed)
    }

    @Test func theIdleClockRestartsWhenACommandStarts() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "idle")).sandbox
        let stale = try f.service.get(s.id)
        f.clock.advance(9 * 60)
        try f.service.beginActivity(stale)
        f.service.endActivity(s.id)
        f.clock.advance(9 * 60)
        #expect(try f.service.expire(apply: false).isEmpty)
        f.clock.advance(60)
        #expect(try f.service.expire(apply: false).map(\.rule) == [.idle])
    }
}

