import FoundationEssentials
import Glibc
import Core
import PluginProtocol

/// A backend whose commands can be streamed (`sandboxer.exec-stream/1`). A loaded plugin is one
/// (whether it declared the capability is `supports(Capability.execStream)`); test fakes may be.
public protocol ExecStreamBackend: SandboxBackend {
    func execStart(_ r: ExecStartRequest, timeout: Double?) throws(BackendError) -> ExecStartResponse
    func execRead(_ r: ExecReadRequest, timeout: Double?) throws(BackendError) -> ExecReadResponse
    func execWrite(_ r: ExecWriteRequest, timeout: Double?) throws(BackendError) -> ExecWriteResponse
    func execWait(_ r: ExecWaitRequest, timeout: Double?) throws(BackendError) -> ExecWaitResponse
    func execKill(_ r: ExecKillRequest, timeout: Double?) throws(BackendError)
    func execRelease(_ r: ExecHandleRef, timeout: Double?) throws(BackendError)
}

// The calls keep exactly the deadline their caller gives (a wait's own length plus a margin): the
// operator's `timeouts:` map is for whole operations, not for the steps of a stream.
extension Backend: ExecStreamBackend {
    public func execStart(_ r: ExecStartRequest, timeout: Double?) throws(BackendError) -> ExecStartResponse {
        try call(Operation.execStart, r, as: ExecStartResponse.self, timeout: timeout, exact: true)
    }

    public func execRead(_ r: ExecReadRequest, timeout: Double?) throws(BackendError) -> ExecReadResponse {
        let answer = try call(Operation.execRead, r, as: ExecReadResponse.self, timeout: timeout, exact: true)
        guard let data = answer.data, data.count <= max(r.maxBytes, 0),
              answer.nextOffset == r.offset + Int64(data.count) else {
            throw BackendError(.garbage, "The plugin's exec_read answer is inconsistent: data_b64 must be base64 of at most max_bytes bytes, and next_offset the request's offset plus their count.",
                               backend: name, operation: Operation.execRead)
        }
        return answer
    }

    public func execWrite(_ r: ExecWriteRequest, timeout: Double?) throws(BackendError) -> ExecWriteResponse {
        try call(Operation.execWrite, r, as: ExecWriteResponse.self, timeout: timeout, exact: true)
    }

    public func execWait(_ r: ExecWaitRequest, timeout: Double?) throws(BackendError) -> ExecWaitResponse {
        try call(Operation.execWait, r, as: ExecWaitResponse.self, timeout: timeout, exact: true)
    }

    public func execKill(_ r: ExecKillRequest, timeout: Double?) throws(BackendError) {
        _ = try call(Operation.execKill, r, as: EmptyResponse.self, timeout: timeout, exact: true)
    }

    public func execRelease(_ r: ExecHandleRef, timeout: Double?) throws(BackendError) {
        _ = try call(Operation.execRelease, r, as: EmptyResponse.self, timeout: timeout, exact: true)
    }
}
