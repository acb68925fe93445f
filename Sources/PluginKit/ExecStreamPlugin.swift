import FoundationEssentials
import Glibc

/// A Swift backend that also streams exec output (`sandboxer.exec-stream/1`): conform to this as
/// well as `SandboxerPlugin`, declare `Capability.execStream`, and `PluginDispatch` routes the six
/// operations here.
public protocol ExecStreamPlugin: SandboxerPlugin {
    func execStart(_ request: ExecStartRequest, call: PluginCall) throws(PluginError) -> ExecStartResponse
    func execRead(_ request: ExecReadRequest, call: PluginCall) throws(PluginError) -> ExecReadResponse
    func execWrite(_ request: ExecWriteRequest, call: PluginCall) throws(PluginError) -> ExecWriteResponse
    func execWait(_ request: ExecWaitRequest, call: PluginCall) throws(PluginError) -> ExecWaitResponse
    func execKill(_ request: ExecKillRequest, call: PluginCall) throws(PluginError)
    /// Ends the command if it still runs and forgets the handle; NOT_FOUND when it is already gone.
    func execRelease(_ request: ExecHandleRef, call: PluginCall) throws(PluginError)
}

extension PluginDispatch {
    /// Routes an operation of `sandboxer.exec-stream/1` to `plugin`; nil for any other operation.
    /// The messages are read and written without `Codable` (`Messages+ExecStreamJSON`: the same
    /// bytes), so a plugin in a one-shot CLI does not pay the runtime's first-use lookups per type.
    static func dispatchExecStream(_ plugin: any ExecStreamPlugin, operation: String, request: Data,
                                   call: PluginCall) throws(PluginError) -> Data? {
        switch operation {
        case Operation.execStart:
            return try plugin.execStart(read(request, operation, ExecStartRequest.init(json:)), call: call).jsonData
        case Operation.execRead:
            return try plugin.execRead(read(request, operation, ExecReadRequest.init(json:)), call: call).jsonData
        case Operation.execWrite:
            return try plugin.execWrite(read(request, operation, ExecWriteRequest.init(json:)), call: call).jsonData
        case Operation.execWait:
            return try plugin.execWait(read(request, operation, ExecWaitRequest.init(json:)), call: call).jsonData
        case Operation.execKill:
            try plugin.execKill(read(request, operation, ExecKillRequest.init(json:)), call: call)
            return EmptyResponse.jsonData
        case Operation.execRelease:
            try plugin.execRelease(read(request, operation, ExecHandleRef.init(json:)), call: call)
            return EmptyResponse.jsonData
        default:
            return nil
        }
    }

    /// Reads a request with `reader`, failing as `decode` fails (the same message for the same fault).
    static func read<T>(_ data: Data, _ operation: String, _ reader: (Data) throws(JSONFieldError) -> T) throws(PluginError) -> T {
        do {
            return try reader(data)
        } catch {
            throw PluginError(.invalidRequest, "The '\(operation)' request is not valid JSON for this operation: \(error).")
        }
    }
}
