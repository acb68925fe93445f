import Foundation
import Glibc
@testable import Backends
import Testing

/// The plugin runner's pure parts: restart backoff (driven by a test clock), wait statuses,
/// teardown steps, and the frame codec over a real socketpair.
@Suite struct PluginRunnerPolicyTests {
    @Test func theFirstDeathRestartsAtOnceThenTheWaitDoublesUpToTheCap() {
        var policy = RunnerRestartPolicy(initialDelay: 0.5, maxDelay: 4, resetAfter: 60)
        #expect(policy.callArrived(now: 0) == .start)
        policy.started(now: 0)
        #expect(policy.callArrived(now: 1) == .use)
        #expect(policy.died(now: 1) == 0)
        #expect(policy.callArrived(now: 1) == .start)
        policy.started(now: 1)
        #expect(policy.died(now: 2) == 0.5)
        #expect(policy.callArrived(now: 2.25) == .refuse(retryIn: 0.25))
        #expect(policy.callArrived(now: 2.5) == .start)
        policy.started(now: 2.5)
        #expect(policy.died(now: 3) == 1)
        policy.started(now: 4)
        #expect(policy.died(now: 4) == 2)
        policy.started(now: 6)
        #expect(policy.died(now: 6) == 4)
        policy.started(now: 10)
        #expect(policy.died(now: 10) == 4, "capped at maxDelay")
    }

    @Test func aRunnerThatStayedUpOrAnsweredResetsTheCount() {
        var policy = RunnerRestartPolicy(initialDelay: 0.5, maxDelay: 30, resetAfter: 60)
        policy.started(now: 0)
        policy.died(now: 1)
        policy.started(now: 1)
        #expect(policy.died(now: 2) == 0.5)
        policy.started(now: 3)
        #expect(policy.died(now: 100) == 0, "up for 97 s: a fresh start")
        policy.started(now: 100)
        policy.died(now: 101)
        policy.started(now: 101)
        policy.answered()
        #expect(policy.died(now: 102) == 0, "a call was answered: a fresh start")
    }

    @Test func aStoppedPolicyNeverStartsAgain() {
        var policy = RunnerRestartPolicy()
        policy.started(now: 0)
        policy.stop()
        #expect(policy.callArrived(now: 1) == .stopped)
        policy.died(now: 2)
        policy.started(now: 3)
        #expect(policy.callArrived(now: 4) == .stopped)
    }

    @Test func waitStatusesReadAsSentences() {
        #expect(WaitStatus(raw: SIGSEGV).phrase == "crashed with SIGSEGV")
        #expect(WaitStatus(raw: SIGABRT | 0x80).phrase == "crashed with SIGABRT", "core dumped")
        #expect(WaitStatus(raw: 7 << 8).phrase == "exited with status 7")
        #expect(WaitStatus(raw: 0).phrase == "exited with status 0")
        #expect(WaitStatus(raw: 42).phrase == "crashed with signal 42")
    }

    @Test func teardownSignalsStepByStepUntilTheProcessIsGone() {
        let teardown = RunnerTeardown.gracefulShutDown(allowed: 2)
        var sent: [Int32] = [], waits: [Double] = []
        teardown.run(pid: 1, signal: { sent.append($0) }, waitExit: { waits.append($0); return false })
        #expect(sent == [SIGTERM, SIGKILL])
        #expect(waits.first == 2)
        sent = []
        teardown.run(pid: 1, signal: { sent.append($0) }, waitExit: { _ in true })
        #expect(sent == [SIGTERM], "a process that exits on SIGTERM is not killed")
    }

    func socketPair() throws -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0)
        return (fds[0], fds[1])
    }

    @Test func framesRoundTripWithTheirPayload() throws {
        let (a, b) = try socketPair()
        defer { close(a); close(b) }
        var header = RunnerHeader(.call, id: 7)
        header.op = "create"
        header.timeout = 1.5
        try RunnerWire.write(fd: a, header, payload: Data(#"{"x":1}"#.utf8))
        try RunnerWire.write(fd: a, RunnerHeader(.cancel, id: 7))
        shutdown(a, Int32(SHUT_WR))
        let reader = RunnerFrameReader(fd: b, maxFrameBytes: 1 << 20)
        let first = try #require(try reader.next())
        #expect(first.header == header)
        #expect(first.payload == Data(#"{"x":1}"#.utf8))
        let second = try #require(try reader.next())
        #expect(second.header == RunnerHeader(.cancel, id: 7) && second.payload.isEmpty)
        #expect(try reader.next() == nil, "a clean end between frames")
    }

    @Test func aFrameAboveTheCapIsRefusedUnread() throws {
        let (a, b) = try socketPair()
        defer { close(a); close(b) }
        let big = [UInt8]([0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 2]) + Array("{}".utf8)
        _ = big.withUnsafeBytes { write(a, $0.baseAddress, $0.count) }
        let reader = RunnerFrameReader(fd: b, maxFrameBytes: 1 << 20)
        #expect(throws: RunnerWire.Failure.self) { try reader.next() }
    }

    @Test func aStreamCutInsideAFrameIsAnError() throws {
        let (a, b) = try socketPair()
        defer { close(a); close(b) }
        let partial = [UInt8]([0, 0, 0, 20, 0, 0, 0, 2]) + Array("{}".utf8)
        _ = partial.withUnsafeBytes { write(a, $0.baseAddress, $0.count) }
        shutdown(a, Int32(SHUT_WR))
        let reader = RunnerFrameReader(fd: b, maxFrameBytes: 1 << 20)
        #expect(throws: RunnerWire.Failure.self) { try reader.next() }
    }
}
