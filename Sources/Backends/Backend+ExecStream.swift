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
// operator's `timeouts:` map is for whole operations, not for the steps of a stream. The messages are
// written and read without `Codable` (`Messages+ExecStreamJSON`): the same bytes, without the
// runtime's first-use lookups that a one-shot `sandboxer exec` would pay for each message type.
extension Backend: ExecStreamBackend {
    public func execStart(_ r: ExecStartRequest, timeout: Double?) throws(BackendError) -> ExecStartResponse {
        try streamCall(Operation.execStart, r.jsonData, timeout: timeout, ExecStartResponse.init(json:))
    }

    public func execRead(_ r: ExecReadRequest, timeout: Double?) throws(BackendError) -> ExecReadResponse {
        let answer = try streamCall(Operation.execRead, r.jsonData, timeout: timeout, ExecReadResponse.init(json:))
        guard let data = answer.data, data.count <= max(r.maxBytes, 0),
              answer.nextOffset == r.offset + Int64(data.count) else {
            throw BackendError(.garbage, "The plugin's exec_read answer is inconsistent: data_b64 must be base64 of at most max_bytes bytes, and next_offset the request's offset plus their count.",
                               backend: name, operation: Operation.execRead)
        }
        return answer
    }

    public func execWrite(_ r: ExecWriteRequest, timeout: Double?) throws(BackendError) -> ExecWriteResponse {
        try streamCall(Operation.execWrite, r.jsonData, timeout: timeout, ExecWriteResponse.init(json:))
    }

    public func execWait(_ r: ExecWaitRequest, timeout: Double?) throws(BackendError) -> ExecWaitResponse {
        try streamCall(Operation.execWait, r.jsonData, timeout: timeout, ExecWaitResponse.init(json:))
    }

    public func execKill(_ r: ExecKillRequest, timeout: Double?) throws(BackendError) {
        // The answer is `{}`; the channel already refused anything that is not a JSON object.
        _ = try invoke(Operation.execKill, r.jsonData, exactTimeout: timeout)
    }

    public func execRelease(_ r: ExecHandleRef, timeout: Double?) throws(BackendError) {
        _ = try invoke(Operation.execRelease, r.jsonData, exactTimeout: timeout)
    }

    /// One call with exactly `timeout`; an answer `read` refuses is the plugin's fault, worded as `decode` words it.
    private func streamCall<Response>(_ operation: String, _ body: Data, timeout: Double?,
                                      _ read: (Data) throws(JSONFieldError) -> Response) throws(BackendError) -> Response {
        try Backend.read(invoke(operation, body, exactTimeout: timeout), backend: name, operation: operation, read)
    }
}
