import Foundation
import PluginABI
import PluginKit

/// A small backend: lifecycle in memory, plus `wait_cancel`, which answers the way a long operation
/// does once the host has cancelled it (the test's host cancels every call up front, so one poll
/// sees it and nothing waits).
final class FuturePlugin: SandboxerPlugin {
    static let name = "future"
    static let version = "1.1.0"
    static let capabilities = [Capability.lifecycle]

    let host: PluginHost

    init(config: JSONValue, host: PluginHost) throws(PluginError) {
        self.host = host
    }

    func create(_ request: CreateRequest, call: PluginCall) throws(PluginError) -> CreateResponse {
        host.log(.info, "future: created \(request.sandboxId)")
        let ms = (host.now().timeIntervalSince1970 * 1000).rounded()
        return CreateResponse(backendRef: "fut-" + request.sandboxId, info: ["created_at_ms": .number(ms)])
    }

    func status(_ request: SandboxRef, call: PluginCall) throws(PluginError) -> StatusResponse {
        StatusResponse(state: "running")
    }

    func destroy(_ request: SandboxRef, call: PluginCall) throws(PluginError) {}

    func invoke(operation: String, request: Data, call: PluginCall) throws(PluginError) -> Data {
        guard operation == "wait_cancel" else {
            return try PluginDispatch.dispatch(self, operation: operation, request: request, call: call)
        }
        guard call.isCancelled else { return Data("{}".utf8) }
        throw PluginError(.unavailable, "The host cancelled the call, so the plugin stopped.")
    }
}

/// The entry: PluginKit's one-line export.
@_cdecl("sandboxer_plugin_entry_v1")
public func sandboxerPluginEntryV1(_ host: UnsafePointer<sbx_host_api>?) -> UnsafePointer<sbx_plugin>? {
    PluginExport.entry(FuturePlugin.self, host: host)
}
