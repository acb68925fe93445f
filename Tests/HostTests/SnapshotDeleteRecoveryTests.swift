import Foundation
import Testing
@testable import Core
@testable import Store
@testable import Lifecycle

/// A `snapshot-rm` killed half-way (found by the fault injection suite: the row stayed `deleting`, and
/// before the backend call its bytes stayed on disk, past the next command and serve's next round,
/// because an interrupted delete was only finished once 10 s old): the delete names its process, and
/// the reconcile finishes it at once when that process is gone.
@Suite struct SnapshotDeleteRecoveryTests {
    /// A ready snapshot of a fresh sandbox, moved to deleting by `owner` as a killed delete leaves it.
    func strandDeleting(_ f: ServiceFixture, owner: ProcessIdentity?) throws -> Snapshot {
        let s = try f.service.create(CreateOptions(profile: "default")).sandbox
        var snap = try f.service.snapshot(s.id)
        snap.state = .deleting
        snap.deletedReason = .manual
        snap.intent = SnapshotIntent(owner: owner)
        snap.updatedAt = f.clock.now()
        #expect(try f.service.store.update(snap, expecting: [.ready], events: []))
        return snap
    }

    @Test func aDeleteRecordsItsProcess() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "default")).sandbox
        let snap = try f.service.snapshot(s.id)
        f.backend.fail("delete_snapshot", with: .unavailable)
        #expect(throws: SandboxerError.self) { try f.service.deleteSnapshot(snap) }
        let row = try f.service.resolveSnapshot(snap.id)
        #expect(row.state == .deleting)
        #expect(row.intent.owner == ProcessIdentity.current())
    }

    @Test func aDeleteWhoseProcessIsGoneIsFinishedWhateverItsAge() throws {
        let f = try ServiceFixture()
        let snap = try strandDeleting(f, owner: RecoveryTests.deadOwner)
        // Young (0 s old): finished all the same.
        #expect(try f.service.reconcileInterruptedSnapshots().map(\.id) == [snap.id])
        #expect(try f.service.resolveSnapshot(snap.id).state == .deleted)
        #expect(f.backend.snapshots.withLock { $0[snap.backendRef ?? ""] == nil })
    }

    @Test func aDeleteWhoseProcessRunsIsLeftToIt() throws {
        let f = try ServiceFixture()
        let initProcess = try #require(ProcessIdentity.startTime(of: 1).map { ProcessIdentity(pid: 1, startTime: $0) })
        let snap = try strandDeleting(f, owner: initProcess)
        f.clock.advance(3600)
        #expect(try f.service.reconcileInterruptedSnapshots().isEmpty)
        #expect(try f.service.resolveSnapshot(snap.id).state == .deleting)
    }

    @Test func aDeleteWithNoOwnerKeepsTheOldGrace() throws {
        let f = try ServiceFixture()
        let snap = try strandDeleting(f, owner: nil)
        #expect(try f.service.reconcileInterruptedSnapshots().isEmpty)
        f.clock.advance(11)
        #expect(try f.service.reconcileInterruptedSnapshots().map(\.id) == [snap.id])
    }
}
