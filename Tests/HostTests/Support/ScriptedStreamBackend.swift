import Foundation
import Glibc
import Synchronization
@testable import PluginProtocol
@testable import Backends

/// A streamed-exec backend whose reads are answered by the test's closure, recording each call and
/// the thread it came on. It honours `wait_ms` as a plugin does: `read` may block on a semaphore for
/// at most that long (that is the plugin's side of the protocol, not a test waiting for time).
final class ScriptedStreamBackend: SandboxBackend, ExecStreamBackend {
    let name = "scripted"
    let capabilities = [Capability.lifecycle, Capability.execStream]

    struct Read: Sendable { var stream: String; var offset: Int64; var waitMs: Int; var thread: UInt }
    /// Every `exec_read`, in the order they began.
    let reads = Mutex<[Read]>([])
    /// Every `exec_kill`'s signal.
    let kills = Mutex<[Int32]>([])
    /// Answers a read (stream, offset, wait_ms): bytes and whether the stream ended.
    let answer: @Sendable (String, Int64, Int) -> (Data, Bool)
    /// The exit `exec_wait` reports once `exited()` says so (polled per wait).
    let exited: @Sendable () -> Int32?

    init(answer: @escaping @Sendable (String, Int64, Int) -> (Data, Bool), exited: @escaping @Sendable () -> Int32?) {
        self.answer = answer; self.exited = exited
    }

    private func unsupported(_ op: String) -> BackendError { BackendError(.notImplemented, "not scripted", backend: name, operation: op) }

    func execStart(_ r: ExecStartRequest, timeout: Double?) throws(BackendError) -> ExecStartResponse { ExecStartResponse(handle: "h") }

    func execRead(_ r: ExecReadRequest, timeout: Double?) throws(BackendError) -> ExecReadResponse {
        reads.withLock { $0.append(Read(stream: r.stream, offset: r.offset, waitMs: r.waitMs, thread: UInt(bitPattern: Int(pthread_self())))) }
        let (data, eof) = answer(r.stream, r.offset, r.waitMs)
        return ExecReadResponse(data: data, eof: eof, nextOffset: r.offset + Int64(data.count))
    }

    func execWrite(_ r: ExecWriteRequest, timeout: Double?) throws(BackendError) -> ExecWriteResponse {
        ExecWriteResponse(accepted: r.dataB64.flatMap { Data(base64Encoded: $0) }?.count ?? 0, closed: r.close == true)
    }

    func execWait(_ r: ExecWaitRequest, timeout: Double?) throws(BackendError) -> ExecWaitResponse {
        if let code = exited() { return ExecWaitResponse(state: ExecWaitResponse.exited, exitCode: code) }
        return ExecWaitResponse(state: ExecWaitResponse.running)
    }

    func execKill(_ r: ExecKillRequest, timeout: Double?) throws(BackendError) { kills.withLock { $0.append(r.signal) } }
    func execRelease(_ r: ExecHandleRef, timeout: Double?) throws(BackendError) {}

    func create(_ r: CreateRequest, timeout: Double?) throws(BackendError) -> CreateResponse { throw unsupported("create") }
    func status(_ r: SandboxRef, timeout: Double?) throws(BackendError) -> StatusResponse { throw unsupported("status") }
    func destroy(_ r: SandboxRef, timeout: Double?) throws(BackendError) { throw unsupported("destroy") }
    func inventory(_ r: InventoryRequest, timeout: Double?) throws(BackendError) -> InventoryResponse { throw unsupported("inventory") }
    func exec(_ r: ExecRequest, timeout: Double?) throws(BackendError) -> ExecResponse { throw unsupported("exec") }
    func setTimeout(_ r: SetTimeoutRequest, timeout: Double?) throws(BackendError) { throw unsupported("set_timeout") }
    func snapshot(_ r: SnapshotRequest, timeout: Double?) throws(BackendError) -> SnapshotResponse { throw unsupported("snapshot") }
    func restore(_ r: RestoreRequest, timeout: Double?) throws(BackendError) -> CreateResponse { throw unsupported("restore") }
    func deleteSnapshot(_ r: DeleteSnapshotRequest, timeout: Double?) throws(BackendError) { throw unsupported("delete_snapshot") }
}
