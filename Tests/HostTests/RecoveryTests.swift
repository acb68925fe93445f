import Foundation
import Glibc
import Synchronization
import Testing
@testable import Basics
@testable import PluginProtocol
@testable import Core
@testable import Store
@testable import Backends
@testable import Lifecycle
@testable import API

/// Recovery that always finishes: interrupted creates and destroys are finished whatever their age
/// once their owner is gone (a zombie counts as gone), by the next command, by `serve`'s sweep, and by
/// `reap-stale --apply`; an exec racing a destroy is a conflict.
@Suite struct RecoveryTests {
    /// A process that does not exist (pid beyond the kernel's limit).
    static let deadOwner = ProcessIdentity(pid: 2_147_483_000, startTime: 1)

    /// Makes a fresh sandbox's row look like `state` with `owner` in its intent, as a process killed
    /// mid-way leaves it; `updatedAt` is now (the row is young).
    static func strand(_ f: ServiceFixture, state: SandboxState, owner: ProcessIdentity?) throws -> Sandbox {
        var row = try f.service.create(CreateOptions(profile: "default")).sandbox
        row.state = state
        row.request.owner = owner
        row.updatedAt = f.clock.now().wholeMilliseconds
        if state == .destroying { row.reason = .manual }
        #expect(try f.service.store.update(row, expecting: [.ready], events: []))
        return row
    }

    /// Spawns `/bin/sh -c 'read x'` with its stdin on a pipe: it runs until the pipe's write end closes.
    static func spawnReader() throws -> (pid: pid_t, writeEnd: Int32) {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
        posix_spawn_file_actions_addclose(&actions, fds[1])
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup("read x"), nil]
        defer { for p in argv { free(p) } }
        let rc = posix_spawn(&pid, "/bin/sh", &actions, nil, argv, environ)
        close(fds[0])
        try #require(rc == 0)
        return (pid, fds[1])
    }

    @Test func aZombieOwnerCountsAsDead() throws {
        let child = try Self.spawnReader()
        let identity = try #require(ProcessIdentity.startTime(of: child.pid).map { ProcessIdentity(pid: child.pid, startTime: $0) })
        #expect(identity.isAlive)
        // Let it exit, and wait until it has, without reaping it (WNOWAIT): it is now a zombie.
        close(child.writeEnd)
        var info = siginfo_t()
        #expect(waitid(P_PID, id_t(child.pid), &info, WEXITED | WNOWAIT) == 0)
        #expect(ProcessIdentity.stat(of: child.pid)?.state == "Z")
        // Its stat file still reads with the same start time, and still it is not alive.
        #expect(ProcessIdentity.startTime(of: child.pid) == identity.startTime)
        #expect(!identity.isAlive)
        var status: Int32 = 0
        #expect(waitpid(child.pid, &status, 0) == child.pid)
        #expect(!identity.isAlive)
    }

    @Test func aZombieOwnersCreateIsReconciled() throws {
        let f = try ServiceFixture()
        let child = try Self.spawnReader()
        let owner = try #require(ProcessIdentity.startTime(of: child.pid).map { ProcessIdentity(pid: child.pid, startTime: $0) })
        let row = try Self.strand(f, state: .provisioning, owner: owner)
        #expect(try f.service.reconcileInterrupted().isEmpty, "a running owner's create is left alone")
        close(child.writeEnd)
        var info = siginfo_t()
        #expect(waitid(P_PID, id_t(child.pid), &info, WEXITED | WNOWAIT) == 0)
        #expect(try f.service.reconcileInterrupted().map(\.id) == [row.id])
        #expect(try f.service.get(row.id).state == .failed)
        var status: Int32 = 0
        _ = waitpid(child.pid, &status, 0)
    }

    @Test func aDestroyRecordsItsOwner() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "default")).sandbox
        f.backend.fail("destroy", with: .unavailable)
        #expect(throws: SandboxerError.self) { try f.service.destroy(s.id) }
        let row = try f.service.get(s.id)
        #expect(row.state == .destroying)
        #expect(row.request.owner == ProcessIdentity.current())
    }

    @Test func aDestroyingRowWithADeadOwnerIsFinishedWhateverItsAge() throws {
        let f = try ServiceFixture()
        let row = try Self.strand(f, state: .destroying, owner: Self.deadOwner)
        // Young (0 s old): finished all the same.
        #expect(try f.service.reconcileInterrupted().map(\.id) == [row.id])
        let done = try f.service.get(row.id)
        #expect(done.state == .destroyed)
        #expect(done.reason == .manual)
        #expect(f.backend.resources.withLock { $0["ref-" + row.id] == nil })
    }

    @Test func aDestroyingRowWithALiveOwnerIsLeftToIt() throws {
        let f = try ServiceFixture()
        // pid 1 is running and is not this process: its destroy is its own business, however old.
        let initProcess = try #require(ProcessIdentity.startTime(of: 1).map { ProcessIdentity(pid: 1, startTime: $0) })
        let row = try Self.strand(f, state: .destroying, owner: initProcess)
        f.clock.advance(3600)
        #expect(try f.service.reconcileInterrupted().isEmpty)
        #expect(try f.service.get(row.id).state == .destroying)
    }

    @Test func thisProcesssOwnAbandonedDestroyIsFinishedPastTheCallDeadline() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "default")).sandbox
        f.backend.fail("destroy", with: .unavailable)
        #expect(throws: SandboxerError.self) { try f.service.destroy(s.id) }
        // Its destroy call may still be running (as far as a sweep in serve can tell) until the deadline.
        #expect(try f.service.reconcileInterrupted().isEmpty)
        f.clock.advance(f.service.backends.timeouts.destroy + SandboxService.abandonedDestroySlackSeconds + 1)
        #expect(try f.service.reconcileInterrupted().map(\.id) == [s.id])
        #expect(try f.service.get(s.id).state == .destroyed)
    }

    @Test func aDestroyingRowWithNoOwnerKeepsTheOldGrace() throws {
        let f = try ServiceFixture()
        let row = try Self.strand(f, state: .destroying, owner: nil)
        #expect(try f.service.reconcileInterrupted().isEmpty)
        f.clock.advance(11)
        #expect(try f.service.reconcileInterrupted().map(\.id) == [row.id])
    }

    @Test func theSweepLoopReconcilesEachRound() throws {
        let f = try ServiceFixture()
        let reports = Mutex<[String]>([])
        let loop = SweepLoop(service: f.service, interval: try TTLDuration.parse("1m"), stop: StopSignal()) { report in
            if case .reconciled(let s) = report { reports.withLock { $0.append(s.id + " " + s.state.rawValue) } }
        }
        loop.sweepOnce()
        #expect(reports.withLock { $0 }.isEmpty)
        // A row stranded after start-up (serve's own start reconcile is long past) is finished by the next round.
        let row = try Self.strand(f, state: .destroying, owner: Self.deadOwner)
        loop.sweepOnce()
        #expect(reports.withLock { $0 } == [row.id + " destroyed"])
        #expect(try f.service.get(row.id).state == .destroyed)
    }

    @Test func reapStalePlansAndFinishesStuckRows() throws {
        let f = try ServiceFixture()
        let creating = try Self.strand(f, state: .provisioning, owner: Self.deadOwner)
        let destroying = try Self.strand(f, state: .destroying, owner: Self.deadOwner)
        let plan = try f.service.reapStale(apply: false)
        #expect(Set(plan.stuck.map(\.sandbox.id)) == [creating.id, destroying.id])
        #expect(plan.stuck.allSatisfy { $0.outcome == .planned })
        #expect(plan.inFlight.isEmpty, "a stuck create is not in flight")
        #expect(try f.service.get(creating.id).state == .provisioning)
        #expect(try f.service.get(destroying.id).state == .destroying)
        let rendered = ReapView.render(plan, apply: false)
        #expect(rendered["stuck"]?.arrayValue?.count == 2)

        let applied = try f.service.reapStale(apply: true)
        let outcomes = Dictionary(uniqueKeysWithValues: applied.stuck.map { ($0.sandbox.id, $0.outcome) })
        #expect(outcomes == [creating.id: .markedFailed, destroying.id: .destroyed])
        #expect(try f.service.get(creating.id).state == .failed)
        #expect(try f.service.get(destroying.id).state == .destroyed)
        #expect(applied.orphans.isEmpty, "what the stuck create made was destroyed with it")
        #expect(f.backend.resources.withLock { $0.isEmpty })
        #expect(try f.service.reapStale(apply: false).stuck.isEmpty)
    }

    @Test func anExecRacingADestroyIsAConflict() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "default")).sandbox
        let service = f.service, backend = f.backend
        // While the command "runs", a destroy takes the sandbox away and the backend's exec fails.
        f.backend.onExec.withLock { $0 = { _ = try? service.destroy(s.id); backend.fail("exec", with: .notFound) } }
        let error = #expect(throws: SandboxerError.self) { try f.service.exec(s.id, argv: ["true"]) }
        #expect(error?.code == .conflict)
        #expect(error?.message.contains("being destroyed") == true || error?.message.contains("destroyed") == true)
        #expect(try f.service.get(s.id).state == .destroyed)
    }

    @Test func anExecFailureOnALiveSandboxStaysABackendError() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "default")).sandbox
        f.backend.fail("exec", with: .unavailable)
        let error = #expect(throws: SandboxerError.self) { try f.service.exec(s.id, argv: ["true"]) }
        #expect(error?.code != .conflict)
    }

    @Test func theAPIAnswers409ForAnExecRacingADestroy() throws {
        let x = try APITests.Fixture(tokens: false)
        let created = x.send("POST", "/v1/sandboxes", body: #"{"ttl":"2h"}"#)
        let id = try #require(created.json["id"]?.stringValue)
        let service = x.f.service, backend = x.f.backend
        x.f.backend.onExec.withLock { $0 = { _ = try? service.destroy(id); backend.fail("exec", with: .notFound) } }
        let exec = x.send("POST", "/v1/sandboxes/\(id)/exec", body: #"{"argv":["true"]}"#)
        #expect(exec.status == 409)
    }
}
