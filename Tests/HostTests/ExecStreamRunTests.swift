import Foundation
import Glibc
import Synchronization
import Testing
@testable import PluginProtocol
@testable import Backends
@testable import Lifecycle

/// `ExecStreamRun`: a command that ends at once is read on the caller's thread (no reader threads);
/// one that goes quiet gets a reader thread per open stream, so neither stream waits behind the
/// other; signals reach the command while the inline reads run.
@Suite struct ExecStreamRunTests {
    static let ref = ExecHandleRef(sandboxId: "sbx-1", handle: "h")

    /// Collects what the sink got, per stream.
    final class Received: Sendable {
        let bytes = Mutex<[ExecOutputStream: Data]>([:])
        var sink: ExecStreamSink {
            ExecStreamSink(output: { [self] stream, data in bytes.withLock { $0[stream, default: Data()].append(data) }; return true })
        }
        func text(_ stream: ExecOutputStream) -> String { String(decoding: bytes.withLock { $0[stream] ?? Data() }, as: UTF8.self) }
    }

    static var me: UInt { UInt(bitPattern: Int(pthread_self())) }

    @Test func aCommandThatEndsAtOnceIsReadOnTheCallersThread() throws {
        let backend = ScriptedStreamBackend(answer: { stream, offset, _ in
            offset == 0 ? (Data("\(stream)!".utf8), true) : (Data(), true)
        }, exited: { 3 })
        let received = Received()
        let run = ExecStreamRun(backend: backend, ref: Self.ref, sink: received.sink, control: nil, callTimeout: 5)
        let outcome = try run.drive(stdin: .none).get()
        #expect(outcome.exitCode == 3)
        #expect(outcome.stdoutBytes == 7 && outcome.stderrBytes == 7)
        #expect(received.text(.stdout) == "stdout!" && received.text(.stderr) == "stderr!")
        let reads = backend.reads.withLock { $0 }
        #expect(reads.count == 2, "one read per stream: \(reads.map(\.stream))")
        #expect(reads.allSatisfy { $0.thread == Self.me }, "every read on the caller's thread")
    }

    @Test func aQuietCommandGetsAReaderPerStreamSoStderrDoesNotWaitBehindStdout() throws {
        // stderr has nothing at the inline poll, then "late" and its end; stdout stays silent until the
        // sink has stderr's bytes. A driver that read the streams one after the other would leave
        // stdout's long read to run out first.
        let delivered = DispatchSemaphore(value: 0)
        let stdoutRanOut = Mutex(0), ended = Mutex(false), stderrReads = Mutex(0)
        let scripted = ScriptedStreamBackend(answer: { stream, offset, waitMs in
            if stream == "stderr" {
                if stderrReads.withLock({ $0 += 1; return $0 }) == 1 { return (Data(), false) }
                return offset == 0 ? (Data("late".utf8), false) : (Data(), true)
            }
            if waitMs == ExecStreamRun.inlineWaitMs { return (Data(), false) }   // the inline read: quiet
            if delivered.wait(timeout: .now() + .milliseconds(waitMs)) == .timedOut { stdoutRanOut.withLock { $0 += 1 } }
            ended.withLock { $0 = true }
            return (Data(), true)
        }, exited: { ended.withLock { $0 } ? 0 : nil })
        let received = Received()
        let sink = ExecStreamSink(output: { stream, data in
            received.bytes.withLock { $0[stream, default: Data()].append(data) }
            if stream == .stderr { delivered.signal() }
            return true
        })
        let run = ExecStreamRun(backend: scripted, ref: Self.ref, sink: sink, control: nil, callTimeout: 5)
        let outcome = try run.drive(stdin: .none).get()
        #expect(outcome.exitCode == 0)
        #expect(received.text(.stderr) == "late")
        #expect(stdoutRanOut.withLock { $0 } == 0, "stdout's read ended by stderr's delivery, not by its wait running out")
        let threaded = scripted.reads.withLock { $0 }.filter { $0.waitMs == ExecStreamRun.pollMs }
        #expect(!threaded.isEmpty && threaded.allSatisfy { $0.thread != Self.me }, "after a quiet round, reads run on reader threads")
    }

    @Test func aSignalReachesAChattyCommandDuringTheInlineReads() throws {
        // stdout has a byte at every read until the command is killed: every inline round makes progress.
        let killed = Flag()
        let control = ExecStreamControl()
        let backend = ScriptedStreamBackend(answer: { stream, _, _ in
            if stream == "stderr" { return (Data(), true) }
            return killed.isSet ? (Data(), true) : (Data("x".utf8), false)
        }, exited: { killed.isSet ? 143 : nil })
        let sink = ExecStreamSink(output: { _, _ in control.signal(SIGTERM); return true })
        let wrapped = KillSwitch(backend: backend, killed: killed)
        let run = ExecStreamRun(backend: wrapped, ref: Self.ref, sink: sink, control: control, callTimeout: 5)
        let outcome = try run.drive(stdin: .none).get()
        #expect(outcome.exitCode == 143)
        #expect(backend.kills.withLock { $0 }.first == SIGTERM)
    }
}

/// A flag shared between a test and its scripted backend.
final class Flag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}

/// Passes calls through to a scripted backend; a kill marks the command as ended.
final class KillSwitch: SandboxBackend, ExecStreamBackend {
    let inner: ScriptedStreamBackend
    let killed: Flag
    init(backend: ScriptedStreamBackend, killed: Flag) { inner = backend; self.killed = killed }
    var name: String { inner.name }
    var capabilities: [String] { inner.capabilities }
    func execStart(_ r: ExecStartRequest, timeout: Double?) throws(BackendError) -> ExecStartResponse { try inner.execStart(r, timeout: timeout) }
    func execRead(_ r: ExecReadRequest, timeout: Double?) throws(BackendError) -> ExecReadResponse { try inner.execRead(r, timeout: timeout) }
    func execWrite(_ r: ExecWriteRequest, timeout: Double?) throws(BackendError) -> ExecWriteResponse { try inner.execWrite(r, timeout: timeout) }
    func execWait(_ r: ExecWaitRequest, timeout: Double?) throws(BackendError) -> ExecWaitResponse { try inner.execWait(r, timeout: timeout) }
    func execKill(_ r: ExecKillRequest, timeout: Double?) throws(BackendError) {
        try inner.execKill(r, timeout: timeout)
        killed.set()
    }
    func execRelease(_ r: ExecHandleRef, timeout: Double?) throws(BackendError) { try inner.execRelease(r, timeout: timeout) }
    func create(_ r: CreateRequest, timeout: Double?) throws(BackendError) -> CreateResponse { try inner.create(r, timeout: timeout) }
    func status(_ r: SandboxRef, timeout: Double?) throws(BackendError) -> StatusResponse { try inner.status(r, timeout: timeout) }
    func destroy(_ r: SandboxRef, timeout: Double?) throws(BackendError) { try inner.destroy(r, timeout: timeout) }
    func inventory(_ r: InventoryRequest, timeout: Double?) throws(BackendError) -> InventoryResponse { try inner.inventory(r, timeout: timeout) }
    func exec(_ r: ExecRequest, timeout: Double?) throws(BackendError) -> ExecResponse { try inner.exec(r, timeout: timeout) }
    func setTimeout(_ r: SetTimeoutRequest, timeout: Double?) throws(BackendError) { try inner.setTimeout(r, timeout: timeout) }
    func snapshot(_ r: SnapshotRequest, timeout: Double?) throws(BackendError) -> SnapshotResponse { try inner.snapshot(r, timeout: timeout) }
    func restore(_ r: RestoreRequest, timeout: Double?) throws(BackendError) -> CreateResponse { try inner.restore(r, timeout: timeout) }
    func deleteSnapshot(_ r: DeleteSnapshotRequest, timeout: Double?) throws(BackendError) { try inner.deleteSnapshot(r, timeout: timeout) }
}
