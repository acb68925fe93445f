import Foundation
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

@Suite("SandboxStore rows and transactions")
struct StoreTests {
    let directory: StoreDirectory
    let store: SandboxStore

    init() throws {
        directory = try StoreDirectory()
        store = try directory.open()
    }

    @Test func roundTripsEveryField() throws {
        let full = Sandbox(
            id: "sbx-00000000000000aa", profile: "python", backend: "e2b", state: .expired, ttlSeconds: 7200,
            maxTTLSeconds: 86400, idleReapSeconds: 900, createdAt: at(0), readyAt: at(1.5), updatedAt: at(30),
            expiresAt: at(7201.5),
            labels: ["sandboxer.host": "h-1", "sandboxer.sandbox": "sbx-00000000000000aa", "ключ": "значение 🚀",
                     "quote\"key": "a'b", "": "empty key", "$.path": "[0]"],
            backendRef: "e2b/abc", reason: .ttlMax, idempotencyKey: "req-42",
            request: CreateIntent(members: ["ttl_seconds": 7200, "requested_ttl_seconds": 90000, "capped": true,
                                            "owner_pid": 4242, "owner_start": 99, "recreate": true,
                                            "from_snapshot": "snap-00000000000000cc", "from_a_newer_host": ["x": 1]]),
            hostId: "host-7", expiryWarningSeconds: 600,
            warnedExpiresAt: at(7201.5), lastActivity: "exec", sourceSnapshot: "snap-00000000000000cc")
        let bare = Sandbox(
            id: "sbx-00000000000000bb", profile: "p", backend: "b", state: .provisioning, ttlSeconds: 60,
            maxTTLSeconds: 60, idleReapSeconds: nil, createdAt: at(2), readyAt: nil, updatedAt: at(2),
            expiresAt: nil, labels: [:], backendRef: nil, reason: nil, idempotencyKey: nil, request: CreateIntent(),
            hostId: "h")
        try store.insert(full, event: createdEvent(full.id))
        try store.insert(bare, event: createdEvent(bare.id))

        #expect(try store.get(id: full.id) == full)
        #expect(try store.get(id: bare.id) == bare)
        #expect(try store.get(idempotencyKey: "req-42") == full)
        #expect(try store.get(id: "sbx-ffffffffffffffff") == nil)
        #expect(try store.get(idempotencyKey: "nope") == nil)
        // And from a second connection, so nothing came from memory.
        #expect(try directory.open().get(id: full.id) == full)
        // Every TerminationReason and SandboxState survives.
        for (index, state) in SandboxState.allCases.enumerated() {
            var sandbox = makeSandbox("sbx-st-\(index)", state: state)
            sandbox.reason = TerminationReason.allCases[index % TerminationReason.allCases.count]
            try store.insert(sandbox, event: createdEvent(sandbox.id))
            #expect(try store.get(id: sandbox.id) == sandbox)
        }
    }

    @Test func roundsTimesToTheNearestMillisecond() throws {
        var sandbox = makeSandbox("sbx-round")
        sandbox.createdAt = Date(timeIntervalSince1970: 1_700_000_000.0006)   // rounds up
        sandbox.updatedAt = Date(timeIntervalSince1970: 1_700_000_000.0004)   // rounds down
        try store.insert(sandbox, event: createdEvent(sandbox.id))
        let stored = try #require(try store.get(id: sandbox.id))
        #expect(stored.createdAt.millisecondsSince1970 == 1_700_000_000_001)
        #expect(stored.updatedAt.millisecondsSince1970 == 1_700_000_000_000)
        #expect(abs(stored.createdAt.timeIntervalSince(sandbox.createdAt)) < 0.0005)
    }

    @Test func insertWritesTheFirstEvent() throws {
        try store.insert(makeSandbox("sbx-a"), event: createdEvent("sbx-a", at: 5))
        let events = try store.events(sandboxId: "sbx-a", since: nil, limit: nil)
        #expect(events.count == 1)
        #expect(events.first?.type == "created")
        #expect(events.first?.at == at(5))
        #expect(events.first?.data == ["by": "test"])
        #expect((events.first?.seq ?? 0) > 0)
    }

    @Test func duplicateIdOrIdempotencyKeyIsAConflictAndWritesNothing() throws {
        try store.insert(makeSandbox("sbx-a", idempotencyKey: "key-1"), event: createdEvent("sbx-a"))

        let sameId = #expect(throws: StoreError.self) {
            try store.insert(makeSandbox("sbx-a", profile: "other"), event: createdEvent("sbx-a"))
        }
        #expect(sameId?.code == .conflict)
        #expect(sameId?.message.contains("this id") == true)

        let sameKey = #expect(throws: StoreError.self) {
            try store.insert(makeSandbox("sbx-b", idempotencyKey: "key-1"), event: createdEvent("sbx-b"))
        }
        #expect(sameKey?.code == .conflict)
        #expect(sameKey?.message.contains("idempotency key") == true)
        #expect(sameKey?.message.contains("key-1") == false)

        #expect(try store.get(id: "sbx-b") == nil)
        #expect(try store.get(id: "sbx-a")?.profile == "default")
        #expect(try store.events(sandboxId: nil, since: nil, limit: nil).count == 1)
        // Sandboxes without a key never collide with each other.
        try store.insert(makeSandbox("sbx-c"), event: createdEvent("sbx-c"))
        try store.insert(makeSandbox("sbx-d"), event: createdEvent("sbx-d"))
    }

    @Test func aRefusedEventRollsBackTheInsert() throws {
        try refuseEvents(ofType: "created", in: store)
        let error = #expect(throws: StoreError.self) { try store.insert(makeSandbox("sbx-a"), event: createdEvent("sbx-a")) }
        #expect(error?.code == .constraint)
        #expect(try store.get(id: "sbx-a") == nil)
    }

    @Test func conditionalUpdateWritesRowAndEventsTogether() throws {
        try store.insert(makeSandbox("sbx-a", labels: ["team": "x"]), event: createdEvent("sbx-a"))
        var expired = try #require(try store.get(id: "sbx-a"))
        expired.state = .expired
        expired.reason = .ttl
        expired.updatedAt = at(100)
        expired.labels = ["team": "y"]
        let events = [SandboxEvent(sandboxId: "sbx-a", type: .expired, at: at(100), data: ["reason": "ttl"])]
        #expect(try store.update(expired, expecting: SandboxState.live, events: events))
        #expect(try store.get(id: "sbx-a") == expired)
        #expect(try store.events(sandboxId: "sbx-a", since: nil, limit: nil).map(\.type) == ["created", "expired"])
        // The label side table followed the row.
        #expect(try store.list(SandboxFilter(labels: ["team": "y"])).map(\.id) == ["sbx-a"])
        #expect(try store.list(SandboxFilter(labels: ["team": "x"])).isEmpty)
    }

    @Test func conditionalUpdateOnAStateMismatchWritesNothing() throws {
        try store.insert(makeSandbox("sbx-a", state: .destroyed), event: createdEvent("sbx-a"))
        let before = try #require(try store.get(id: "sbx-a"))
        var changed = before
        changed.state = .expired
        changed.profile = "changed"
        let event = SandboxEvent(sandboxId: "sbx-a", type: .expired, at: at(1))
        #expect(try store.update(changed, expecting: [.ready, .active], events: [event]) == false)
        #expect(try store.update(changed, expecting: [], events: [event]) == false)
        #expect(try store.get(id: "sbx-a") == before)
        #expect(try store.events(sandboxId: "sbx-a", since: nil, limit: nil).map(\.type) == ["created"])
    }

    @Test func failingUpdateLeavesNoEventAndNoChange() throws {
        try store.insert(makeSandbox("sbx-a"), event: createdEvent("sbx-a"))
        let before = try #require(try store.get(id: "sbx-a"))
        var changed = before
        changed.state = .active
        try refuseEvents(ofType: "failed", in: store)
        let events = [SandboxEvent(sandboxId: "sbx-a", type: .ready, at: at(1)),
                      SandboxEvent(sandboxId: "sbx-a", type: .failed, at: at(1))]
        let error = #expect(throws: StoreError.self) {
            try store.update(changed, expecting: [.ready], events: events)
        }
        #expect(error?.code == .constraint)
        #expect(try store.get(id: "sbx-a") == before)
        #expect(try store.events(sandboxId: nil, since: nil, limit: nil).map(\.type) == ["created"])
    }

    @Test func updatingAMissingSandboxIsNotFound() throws {
        let error = #expect(throws: StoreError.self) {
            try store.update(makeSandbox("sbx-missing"), expecting: [.ready], events: [])
        }
        #expect(error?.code == .notFound)
    }

    @Test func inFlightListsProvisioningExpiredAndDestroying() throws {
        for (index, state) in SandboxState.allCases.enumerated() {
            try store.insert(makeSandbox("sbx-\(state.rawValue)", state: state, created: Double(-index)),
                             event: createdEvent("sbx-\(state.rawValue)"))
        }
        // Oldest first: destroying (index 4), expired (3), provisioning (0). Expired rows are in flight
        // too: an expiry whose process died is finished by the reconcile.
        #expect(try store.inFlight().map(\.id) == ["sbx-destroying", "sbx-expired", "sbx-provisioning"])
    }

    @Test func eventsFilterBySandboxSinceAndLimit() throws {
        try store.insert(makeSandbox("sbx-a"), event: createdEvent("sbx-a"))
        try store.insert(makeSandbox("sbx-b"), event: createdEvent("sbx-b"))
        try store.append(events: [SandboxEvent(sandboxId: "sbx-orphan", type: .orphanReaped, at: at(2)),
                                  SandboxEvent(sandboxId: "sbx-a", type: .ttlExtended, at: at(3))])
        try store.append(events: [])

        let all = try store.events(sandboxId: nil, since: nil, limit: nil)
        #expect(all.map(\.type) == ["created", "created", "orphan_reaped", "ttl_extended"])
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.seq < $1.seq })
        #expect(try store.events(sandboxId: nil, since: all[1].seq, limit: nil).map(\.seq) == [all[2].seq, all[3].seq])
        #expect(try store.events(sandboxId: nil, since: all[1].seq, limit: 1).map(\.seq) == [all[2].seq])
        #expect(try store.events(sandboxId: nil, since: nil, limit: 0).isEmpty)
        #expect(try store.events(sandboxId: "sbx-a", since: nil, limit: nil).map(\.type) == ["created", "ttl_extended"])
        #expect(try store.events(sandboxId: "sbx-a", since: all[0].seq, limit: nil).map(\.type) == ["ttl_extended"])
        // Orphan events have no sandbox row, and need none.
        #expect(try store.events(sandboxId: "sbx-orphan", since: nil, limit: nil).count == 1)
        #expect(try store.get(id: "sbx-orphan") == nil)
    }
}

@Suite("SandboxStore snapshot rows")
struct SnapshotStoreTests {
    @Test func roundTripsAndUpdatesConditionally() throws {
        let directory = try StoreDirectory()
        let store = try directory.open()
        let full = Snapshot(id: "snap-00000000000000aa", sandboxId: "sbx-00000000000000aa", backend: "localvm", profile: "p",
                            name: "n.1", state: .ready, sizeBytes: 1 << 40, backendRef: "ref/ü", createdAt: at(1), updatedAt: at(2),
                            trigger: .onExpire, deletedReason: .retentionMaxAge, owner: "team-a", hostId: "h",
                            intent: SnapshotIntent(owner: ProcessIdentity(pid: 1, startTime: 2)), message: "m")
        var bare = Snapshot(id: "snap-00000000000000bb", sandboxId: "sbx-00000000000000aa", backend: "b", profile: "p",
                            name: nil, state: .creating, createdAt: at(3), updatedAt: at(3), trigger: .manual, owner: nil, hostId: "h")
        try store.insert(full, events: [])
        try store.insert(bare, events: [createdEvent("sbx-00000000000000aa")])
        #expect(try store.snapshot(id: full.id) == full)
        #expect(try store.snapshot(id: bare.id) == bare)
        #expect(try store.snapshots(SnapshotFilter()).map(\.id) == [bare.id, full.id])   // newest first
        #expect(try store.snapshots(SnapshotFilter(owner: "team-a")).map(\.id) == [full.id])
        #expect(try store.snapshots(SnapshotFilter(states: [.creating])).map(\.id) == [bare.id])
        #expect(throws: StoreError.self) { try store.insert(bare, events: []) }

        bare.state = .ready
        #expect(try store.update(bare, expecting: [.creating], events: []))
        #expect(try !store.update(bare, expecting: [.creating], events: []))   // a second writer loses
        #expect(try store.snapshot(id: bare.id)?.state == .ready)
        var ghost = bare
        ghost.id = "snap-00000000000000ff"
        #expect(throws: StoreError.self) { try store.update(ghost, expecting: [.ready], events: []) }
    }
}
