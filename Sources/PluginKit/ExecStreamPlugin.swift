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
    static func dispatchExecStream(_ plugin: any ExecStreamPlugin, operation: String, request: Data,
                                   call: PluginCall) throws(PluginError) -> Data? {
        switch operation {
        case Operation.execStart:
            return try encode(plugin.execStart(decode(ExecStartRequest.self, request, operation), call: call))
        case Operation.execRead:
            return try encode(plugin.execRead(decode(ExecReadRequest.self, request, operation), call: call))
        case Operation.execWrite:
            return try encode(plugin.execWrite(decode(ExecWriteRequest.self, request, operation), call: call))
        case Operation.execWait:
            return try encode(plugin.execWait(decode(ExecWaitRequest.self, request, operation), call: call))
        case Operation.execKill:
            try plugin.execKill(decode(ExecKillRequest.self, request, operation), call: call)
            return try encode(EmptyResponse())
        case Operation.execRelease:
            try plugin.execRelease(decode(ExecHandleRef.self, request, operation), call: call)
            return try encode(EmptyResponse())
        default:
            return nil
        }
    }
}
