import Foundation
import Testing
@testable import Core
@testable import Store
@testable import Lifecycle

/// An `expire --apply` killed between marking a sandbox expired and destroying it (found by the fault
/// injection suite: the row stayed `expired` and the sandbox kept running until some later sweep): the
/// expiry names its process, and the reconcile of the next command finishes it once that process is gone.
@Suite struct ExpiryRecoveryTests {
    /// A fresh sandbox's row moved to expired (rule ttl) by `owner`, as a killed sweep leaves it.
    func strandExpired(_ f: ServiceFixture, owner: ProcessIdentity?) throws -> Sandbox {
        var row = try f.service.create(CreateOptions(profile: "default")).sandbox
        row.state = .expired
        row.reason = .ttl
        row.request.owner = owner
        row.updatedAt = f.clock.now().wholeMilliseconds
        #expect(try f.service.store.update(row, expecting: [.ready], events: []))
        return row
    }

    @Test func theExpiryRecordsItsProcess() throws {
        let f = try ServiceFixture()
        let row = try f.service.create(CreateOptions(profile: "default")).sandbox
        var machine = SandboxMachine(row)
        _ = try machine.expire(.ttl, owner: ProcessIdentity.current(), at: f.clock.now())
        #expect(machine.sandbox.request.owner == ProcessIdentity.current())
    }

    @Test func anExpiredRowWhoseProcessIsGoneIsDestroyedByTheNextReconcile() throws {
        let f = try ServiceFixture()
        let row = try strandExpired(f, owner: RecoveryTests.deadOwner)
        #expect(try f.service.reconcileInterrupted().map(\.id) == [row.id])
        let done = try f.service.get(row.id)
        #expect(done.state == .destroyed)
        #expect(done.reason == .ttl)
        #expect(f.backend.resources.withLock { $0["ref-" + row.id] == nil })
    }

    @Test func anExpiredRowWhoseProcessRunsIsLeftToIt() throws {
        let f = try ServiceFixture()
        let initProcess = try #require(ProcessIdentity.startTime(of: 1).map { ProcessIdentity(pid: 1, startTime: $0) })
        let row = try strandExpired(f, owner: initProcess)
        #expect(try f.service.reconcileInterrupted().isEmpty)
        #expect(try f.service.get(row.id).state == .expired)
        // Its own sweep's leftovers are the sweep's: this process never reconciles them from under itself.
        let own = try strandExpired(f, owner: ProcessIdentity.current())
        #expect(try f.service.reconcileInterrupted().isEmpty)
        #expect(try f.service.get(own.id).state == .expired)
    }

    @Test func reapStaleReportsAndFinishesAStuckExpiry() throws {
        let f = try ServiceFixture()
        let row = try strandExpired(f, owner: RecoveryTests.deadOwner)
        let plan = try f.service.reapStale(apply: false)
        #expect(plan.stuck.map(\.sandbox.id) == [row.id])
        let applied = try f.service.reapStale(apply: true)
        #expect(applied.stuck.first?.outcome == .destroyed)
        #expect(try f.service.get(row.id).state == .destroyed)
    }
}
