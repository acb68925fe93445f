import Foundation
import PluginKit
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

/// The lifecycle through `SandboxService` with a driven clock, a real SQLite store and a fake backend.
@Suite struct LifecycleServiceTests {
    @Test func createAnchorsTheTTLAtReadyAndCapsAtMax() throws {
        let f = try ServiceFixture()
        let start = f.clock.now()
        let outcome = try f.service.create(CreateOptions(profile: "default", ttl: "1d"))
        #expect(outcome.capped)
        #expect(outcome.requestedTTLSeconds == 86400)
        let s = outcome.sandbox
        #expect(s.state == .ready)
        #expect(s.ttlSeconds == 4 * 3600)
        // The fake backend took 5 s: ready_at is after created_at, and the TTL counts from ready_at.
        #expect(s.createdAt == start)
        #expect(s.readyAt == start.addingTimeInterval(5))
        #expect(s.expiresAt == start.addingTimeInterval(5 + 4 * 3600))
        // The backend was labelled for ownership and got the backstop deadline.
        let res = try #require(f.backend.resources.withLock { $0["ref-" + s.id] })
        #expect(res.labels[OwnershipLabel.host] == "host-test")
        #expect(res.labels[OwnershipLabel.sandbox] == s.id)
        #expect(res.timeout == 4 * 3600 + SandboxMachine.backstopGraceSeconds)
        let types = try f.service.events(sandboxId: s.id, since: nil, limit: nil).map(\.type)
        #expect(types == ["created", "ready"])
    }

    @Test func badInputWritesNoRow() throws {
        let f = try ServiceFixture()
        #expect(throws: SandboxerError.self) { try f.service.create(CreateOptions(profile: "default", ttl: "1.5h")) }
        #expect(throws: SandboxerError.self) { try f.service.create(CreateOptions(profile: "nope")) }
        #expect(throws: SandboxerError.self) { try f.service.create(CreateOptions(profile: "default", labels: ["sandboxer.host": "x"])) }
        #expect(try f.service.list(SandboxFilter()).isEmpty)
    }

    @Test func idempotencyKeyReturnsTheSameSandbox() throws {
        let f = try ServiceFixture()
        let a = try f.service.create(CreateOptions(profile: "default", idempotencyKey: "k1"))
        let b = try f.service.create(CreateOptions(profile: "default", idempotencyKey: "k1"))
        #expect(a.sandbox.id == b.sandbox.id)
        #expect(b.replayed)
        #expect(try f.service.list(SandboxFilter()).count == 1)
    }

    @Test func backendFailureMarksFailedWithAReason() throws {
        let f = try ServiceFixture()
        f.backend.fail("create", with: .quota)
        #expect(throws: SandboxerError.self) { try f.service.create(CreateOptions(profile: "default")) }
        let rows = try f.service.list(SandboxFilter())
        #expect(rows.count == 1)
        #expect(rows[0].state == .failed)
        #expect(rows[0].reason == .failed)
    }

    @Test func extendIsCappedAndRefusedOnDeadSandboxes() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "default")).sandbox
        f.clock.advance(600)
        let ext = try f.service.extendTTL(s.id, duration: "2h", by: "test")
        #expect(ext.from == s.expiresAt)
        #expect(ext.to == s.expiresAt!.addingTimeInterval(7200))
        #expect(!ext.capped)
        let capped = try f.service.extendTTL(s.id, duration: "1d", by: "test")
        #expect(capped.capped)
        #expect(capped.to == s.readyAt!.addingTimeInterval(4 * 3600))
        // The backend's own deadline followed the extension.
        let pushed = try #require(f.backend.resources.withLock { $0["ref-" + s.id]?.timeout })
        #expect(pushed == TTLRules.remaining(capped.sandbox, now: f.clock.now()) + SandboxMachine.backstopGraceSeconds)
        let event = try #require(f.service.events(sandboxId: s.id, since: nil, limit: nil).first { $0.kind == .ttlExtended })
        #expect(event.data.string("by") == "test")
        #expect(event.data.bool("capped") == false)
        _ = try f.service.destroy(s.id)
        let error = #expect(throws: SandboxerError.self) { try f.service.extendTTL(s.id, duration: "1h", by: "test") }
        #expect(error?.code == .conflict)
    }

    @Test func expirePlanThenApplyThenNothing() throws {
        let f = try ServiceFixture()
        let a = try f.service.create(CreateOptions(profile: "default", ttl: "30m")).sandbox
        let b = try f.service.create(CreateOptions(profile: "default", ttl: "4h")).sandbox
        f.clock.advance(3 * 3600)
        _ = try f.service.create(CreateOptions(profile: "default", ttl: "2h"))
        f.clock.advance(3600)
        let plan = try f.service.expire(apply: false)
        #expect(Set(plan.map(\.sandbox.id)) == [a.id, b.id])
        #expect(plan.first { $0.sandbox.id == a.id }?.rule == .ttl)
        #expect(plan.first { $0.sandbox.id == b.id }?.rule == .ttlMax)
        #expect(plan.allSatisfy { $0.outcome == .planned })
        // The plan changed nothing.
        #expect(try f.service.get(a.id).state == .ready)
        let applied = try f.service.expire(apply: true)
        #expect(applied.count == 2)
        #expect(applied.allSatisfy { $0.outcome == .destroyed })
        let gone = try f.service.get(a.id)
        #expect(gone.state == .destroyed)
        #expect(gone.reason == .ttl)
        #expect(try f.service.get(b.id).reason == .ttlMax)
        let types = try f.service.events(sandboxId: a.id, since: nil, limit: nil).map(\.type)
        #expect(types == ["created", "ready", "expired", "destroying", "destroyed"])
        let destroyed = try #require(try f.service.events(sandboxId: a.id, since: nil, limit: nil).last)
        #expect(destroyed.data.jsonText == #"{"reason":"ttl"}"#)
        // A second apply is a no-op.
        let calls = f.backend.destroyCalls.withLock { $0 }
        #expect(try f.service.expire(apply: true).isEmpty)
        #expect(f.backend.destroyCalls.withLock { $0 } == calls)
    }

    @Test func idleReapCountsFromLastActivity() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "idle")).sandbox
        f.clock.advance(9 * 60)
        _ = try f.service.exec(s.id, argv: ["true"])
        f.clock.advance(9 * 60)
        #expect(try f.service.expire(apply: false).isEmpty)
        f.clock.advance(60)
        let plan = try f.service.expire(apply: true)
        #expect(plan.map(\.rule) == [.idle])
        #expect(try f.service.get(s.id).reason == .idle)
    }

    @Test func destroyIsIdempotentAndNotFoundCountsAsDone() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "default")).sandbox
        f.backend.resources.withLock { $0.removeAll() }
        let first = try f.service.destroy(s.id)
        #expect(first.state == .destroyed)
        #expect(first.reason == .manual)
        let second = try f.service.destroy(s.id)
        #expect(second == first)
        let error = #expect(throws: SandboxerError.self) { try f.service.destroy("sbx-ffffffffffffffff") }
        #expect(error?.code == .notFound)
    }

    @Test func interruptedCreateIsCleanedUpByTheNextCommand() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "default")).sandbox
        // Turn the row back into an intent owned by a process that no longer exists, as the previous
        // version wrote intents (every value a string).
        var intent = s
        intent.state = .provisioning
        intent.request = CreateIntent(storedJSON: #"{"owner_pid":"2147483000","owner_start":"1"}"#)
        #expect(try f.service.store.update(intent, expecting: [.ready], events: []))
        let touched = try f.service.reconcileInterrupted()
        #expect(touched.map(\.id) == [s.id])
        #expect(try f.service.get(s.id).state == .failed)
        #expect(f.backend.resources.withLock { $0.isEmpty })
    }

    @Test func reapStaleFindsOrphansAndGhosts() throws {
        let f = try ServiceFixture()
        let live = try f.service.create(CreateOptions(profile: "default")).sandbox
        let ghost = try f.service.create(CreateOptions(profile: "default")).sandbox
        f.backend.resources.withLock {
            $0.removeValue(forKey: "ref-" + ghost.id)
            $0["ref-orphan"] = .init(labels: [OwnershipLabel.host: "host-test", OwnershipLabel.sandbox: "sbx-00000000000000aa"], timeout: nil)
            $0["ref-foreign"] = .init(labels: [OwnershipLabel.host: "someone-else"], timeout: nil)
        }
        let plan = try f.service.reapStale(apply: false)
        #expect(plan.orphans.map(\.backendRef) == ["ref-orphan"])
        #expect(plan.ghosts.map(\.sandbox.id) == [ghost.id])
        #expect(plan.foreign.map(\.backendRef) == ["ref-foreign"])
        #expect(try f.service.get(ghost.id).state == .ready)

        let applied = try f.service.reapStale(apply: true)
        #expect(applied.orphans.first?.outcome == .destroyed)
        let g = try f.service.get(ghost.id)
        #expect(g.state == .failed)
        #expect(g.reason == .backendVanished)
        #expect(try f.service.get(live.id).state == .ready)
        #expect(f.backend.resources.withLock { Set($0.keys) } == ["ref-" + live.id, "ref-foreign"])
        let orphanEvents = try f.service.events(sandboxId: "sbx-00000000000000aa", since: nil, limit: nil)
        #expect(orphanEvents.map(\.type) == ["orphan_reaped"])
    }
}
