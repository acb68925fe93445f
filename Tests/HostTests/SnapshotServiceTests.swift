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

/// Snapshots, restore and recreate through `SandboxService`, with a driven clock and a fake backend
/// whose "files" stand in for a sandbox's writable state.
@Suite struct SnapshotServiceTests {
    func files(_ f: ServiceFixture, _ id: String) throws -> String {
        String(decoding: try f.service.exec(id, argv: ["ls"]).stdout, as: UTF8.self)
    }

    @Test func snapshotThenRecreateAndCreateFromItKeepTheState() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "default", labels: ["team": "a"])).sandbox
        _ = try f.service.exec(s.id, argv: ["write", "hello"])
        let snap = try f.service.snapshot(s.id, name: "base")
        #expect(snap.state == .ready)
        #expect(snap.sizeBytes == 1)
        #expect(snap.backendRef == "fsnap-" + snap.id)
        _ = try f.service.exec(s.id, argv: ["write", "after"])

        // A second sandbox from the snapshot has the file, not what came after; the original is untouched.
        let copy = try f.service.create(CreateOptions(fromSnapshot: "base")).sandbox
        #expect(copy.profile == "default")
        #expect(copy.sourceSnapshot == snap.id)
        #expect(try files(f, copy.id) == "hello\n")
        #expect(try files(f, s.id) == "after\nhello\n")

        // Recreate keeps id, labels and the TTL anchor; the idle clock restarts.
        let before = try f.service.get(s.id)
        f.clock.advance(120)
        let outcome = try f.service.recreate(s.id, fromSnapshot: snap.id)
        let r = outcome.sandbox
        #expect(r.id == s.id && r.labels == before.labels)
        #expect(r.readyAt == before.readyAt && r.expiresAt == before.expiresAt)
        #expect(r.updatedAt == f.clock.now() && r.lastActivity == "recreated")
        #expect(r.sourceSnapshot == snap.id)
        #expect(outcome.previousBackendRef == before.backendRef)
        #expect(try files(f, s.id) == "hello\n")
        let types = try f.service.events(sandboxId: s.id, since: nil, limit: nil).map(\.type)
        #expect(types == ["created", "ready", "snapshot_created", "recreating", "recreated"])
    }

    @Test func recreateWithoutSnapshotStartsFresh() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "default")).sandbox
        _ = try f.service.exec(s.id, argv: ["write", "x"])
        let r = try f.service.recreate(s.id).sandbox
        #expect(r.state == .ready && r.sourceSnapshot == nil)
        #expect(try files(f, s.id) == "")
        // Exactly one instance exists for the sandbox on the backend.
        #expect(f.backend.resources.withLock { $0.count } == 1)
    }

    @Test func recreateThatCannotMakeTheNewInstanceEndsFailedWithAReason() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "default")).sandbox
        f.backend.fail("create", with: .quota)
        #expect(throws: SandboxerError.self) { try f.service.recreate(s.id) }
        let after = try f.service.get(s.id)
        #expect(after.state == .failed && after.reason == .failed)
        #expect(f.backend.resources.withLock { $0.isEmpty })
        let failed = try #require(try f.service.events(sandboxId: s.id, since: nil, limit: nil).last)
        #expect(failed.kind == .failed && failed.data.string("message")?.contains("recreate") == true)
    }

    @Test func recreateWhoseOldInstanceWillNotGoLeavesTheSandboxAsItWas() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "default")).sandbox
        f.backend.fail("destroy", with: .unavailable)
        #expect(throws: SandboxerError.self) { try f.service.recreate(s.id) }
        let after = try f.service.get(s.id)
        #expect(after.state == .ready && after.backendRef == s.backendRef && after.request == s.request)
    }

    @Test func recreateAndSnapshotRefuseEndedSandboxes() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "default")).sandbox
        _ = try f.service.destroy(s.id)
        #expect(throws: SandboxerError(.conflict, "Sandbox \(s.id) is destroyed; only ready or active sandboxes can be recreated.")) {
            try f.service.recreate(s.id)
        }
        #expect(throws: SandboxerError.self) { try f.service.snapshot(s.id) }
    }

    @Test func snapshotFailureIsRecordedAndNothingReady() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "default")).sandbox
        f.backend.fail("snapshot", with: .internal)
        #expect(throws: SandboxerError.self) { try f.service.snapshot(s.id) }
        let all = try f.service.snapshots(sandboxId: s.id, all: true)
        #expect(all.count == 1 && all[0].state == .failed && all[0].message != nil)
        #expect(try f.service.snapshots(sandboxId: s.id).isEmpty)
    }

    @Test func namesResolveWhenUniqueAndAreValidated() throws {
        let f = try ServiceFixture()
        let a = try f.service.create(CreateOptions(profile: "default")).sandbox
        let b = try f.service.create(CreateOptions(profile: "default")).sandbox
        _ = try f.service.snapshot(a.id, name: "twin")
        #expect(try f.service.resolveSnapshot("twin").sandboxId == a.id)
        _ = try f.service.snapshot(b.id, name: "twin")
        #expect(throws: SandboxerError.self) { try f.service.resolveSnapshot("twin") }
        #expect(throws: SandboxerError.self) { try f.service.snapshot(a.id, name: "no spaces") }
        #expect(throws: SandboxerError.self) { try f.service.snapshot(a.id, name: "snap-0123456789abcdef") }
        #expect(throws: SandboxerError.self) { try f.service.resolveSnapshot("snap-0000000000000000") }
    }

    @Test func deleteIsIdempotentAndDeletedSnapshotsCannotBeRestored() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "default")).sandbox
        let snap = try f.service.snapshot(s.id)
        let gone = try f.service.deleteSnapshot(snap)
        #expect(gone.state == .deleted && gone.deletedReason == .manual)
        #expect(f.backend.snapshots.withLock { $0.isEmpty })
        #expect(try f.service.deleteSnapshot(gone).state == .deleted)
        #expect(throws: SandboxerError.self) { try f.service.create(CreateOptions(fromSnapshot: snap.id)) }
        let last = try #require(try f.service.events(sandboxId: s.id, since: nil, limit: nil).last)
        #expect(last.kind == .snapshotDeleted && last.data.string("reason") == "manual")
    }

    @Test func aSnapshotRestoresOnlyOnItsOwnBackendAndProfileDefaults() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "idle")).sandbox
        let snap = try f.service.snapshot(s.id)
        let copy = try f.service.create(CreateOptions(fromSnapshot: snap.id)).sandbox
        #expect(copy.profile == "idle")
        let explicit = try f.service.create(CreateOptions(profile: "default", fromSnapshot: snap.id)).sandbox
        #expect(explicit.profile == "default")
    }

    @Test func onExpireSnapshotLeavesARestorableSnapshotNamedByTheEvent() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "keeper")).sandbox
        _ = try f.service.exec(s.id, argv: ["write", "work"])
        f.clock.advance(3601)
        let plan = try f.service.expire(apply: false)
        #expect(plan.count == 1 && plan[0].onExpire == .snapshot)
        let items = try f.service.expire(apply: true)
        let item = try #require(items.first)
        #expect(item.outcome == .destroyed)
        let snapId = try #require(item.snapshotId)
        #expect(try f.service.get(s.id).state == .destroyed)
        let snap = try f.service.resolveSnapshot(snapId)
        #expect(snap.trigger == .onExpire && snap.state == .ready)
        let destroyed = try #require(try f.service.events(sandboxId: s.id, since: nil, limit: nil).last)
        #expect(destroyed.type == "destroyed")
        #expect(destroyed.data == ["reason": "ttl", "snapshot_id": .string(snapId)])
        let restored = try f.service.create(CreateOptions(fromSnapshot: snapId)).sandbox
        #expect(try files(f, restored.id) == "work\n")
    }

    @Test func onExpireSnapshotFailureStillDestroysAndSaysWhy() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "keeper")).sandbox
        f.clock.advance(3601)
        f.backend.fail("snapshot", with: .internal)
        let item = try #require(try f.service.expire(apply: true).first)
        #expect(item.outcome == .destroyed && item.snapshotId == nil && item.snapshotError != nil)
        let destroyed = try #require(try f.service.events(sandboxId: s.id, since: nil, limit: nil).last)
        #expect(destroyed.data.string("snapshot_error") != nil)
    }

    @Test func retentionKeepsTheNewestAndDropsTheOldPlanFirst() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "keeper", ttl: "4h")).sandbox
        var taken: [Snapshot] = []
        for _ in 0..<4 { taken.append(try f.service.snapshot(s.id)); f.clock.advance(60) }
        // A snapshot of a profile without rules is never pruned.
        let other = try f.service.create(CreateOptions(profile: "default")).sandbox
        _ = try f.service.snapshot(other.id)

        let plan = try f.service.pruneSnapshots(apply: false)
        #expect(plan.map(\.snapshot.id) == [taken[1].id, taken[0].id])
        #expect(plan.allSatisfy { $0.rule == .retentionKeep && $0.outcome == .planned })
        #expect(try f.service.snapshots(sandboxId: s.id).count == 4)   // dry run changed nothing

        let applied = try f.service.pruneSnapshots(apply: true)
        #expect(applied.allSatisfy { $0.outcome == .deleted && $0.snapshot.deletedReason == .retentionKeep })
        #expect(try f.service.pruneSnapshots(apply: true).isEmpty)     // a second apply finds nothing

        f.clock.advance(86_400)
        let aged = try f.service.pruneSnapshots(apply: true)
        #expect(Set(aged.map(\.snapshot.id)) == [taken[2].id, taken[3].id])
        #expect(aged.allSatisfy { $0.rule == .retentionMaxAge })
        #expect(try f.service.snapshots(sandboxId: other.id).count == 1)
    }

    @Test func anInterruptedSnapshotIsMarkedFailedByTheNextCommand() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "default")).sandbox
        // A capture whose process is gone (pid 2^22 + 1 does not exist), its intent as the previous version wrote it.
        let stale = Snapshot(id: SnapshotID.make(), sandboxId: s.id, backend: "fake", profile: "default", name: nil,
                             state: .creating, createdAt: f.clock.now(), updatedAt: f.clock.now(), trigger: .manual,
                             owner: nil, hostId: "host-test", intent: SnapshotIntent(storedJSON: #"{"owner_pid":"4194305","owner_start":"1"}"#))
        try f.service.store.insert(stale, events: [])
        let touched = try f.service.reconcileInterruptedSnapshots()
        #expect(touched.map(\.id) == [stale.id])
        #expect(try f.service.resolveSnapshot(stale.id).state == .failed)
        // A capture whose process lives (this one) is left alone.
        let me = ProcessIdentity.current()
        var live = stale
        live.id = SnapshotID.make()
        live.intent = SnapshotIntent(owner: me)
        try f.service.store.insert(live, events: [])
        #expect(try f.service.reconcileInterruptedSnapshots().isEmpty)
    }
}
