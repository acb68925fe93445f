import FoundationEssentials
import Glibc
import PluginProtocol

/// Decodes a JSON request, calls the typed operation, encodes the response.
public enum PluginDispatch {
    static func decode<T: Decodable>(_ type: T.Type, _ data: Data, _ operation: String) throws(PluginError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: data.isEmpty ? Data("{}".utf8) : data)
        } catch {
            throw PluginError(.invalidRequest, "The '\(operation)' request is not valid JSON for this operation: \(error.shortDescription).")
        }
    }

    static func encode<T: Encodable>(_ value: T) throws(PluginError) -> Data {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return try encoder.encode(value)
        } catch {
            throw PluginError(.internal, "The plugin could not encode its response: \(error).")
        }
    }

    /// Routes `operation` to the typed method of `plugin`.
    public static func dispatch<P: SandboxerPlugin>(_ plugin: P, operation: String, request: Data,
                                                    call: PluginCall) throws(PluginError) -> Data {
        switch operation {
        case Operation.describe:
            // Written without Codable (`DescribeResponse.jsonData`: JSONEncoder's bytes).
            return DescribeResponse(name: P.name, version: P.version, capabilities: P.capabilities,
                                    bootArtifactKinds: P.bootArtifactKinds.isEmpty ? nil : P.bootArtifactKinds,
                                    info: { let info = plugin.describeInfo; return info.isEmpty ? nil : info }()).jsonData
        case Operation.create:
            return try plugin.create(read(request, operation, CreateRequest.init(json:)), call: call).jsonData
        case Operation.status:
            return try encode(plugin.status(decode(SandboxRef.self, request, operation), call: call))
        case Operation.destroy:
            // SandboxRef and CreateResponse without Codable (Messages+LifecycleJSON.swift).
            try plugin.destroy(read(request, operation, SandboxRef.init(json:)), call: call)
            return EmptyResponse.jsonData
        case Operation.inventory:
            return try encode(plugin.inventory(decode(InventoryRequest.self, request, operation), call: call))
        case Operation.exec:
            // Both ways without Codable (Messages+ExecJSON.swift).
            return try plugin.exec(read(request, operation, ExecRequest.init(json:)), call: call).jsonData
        case Operation.setTimeout:
            try plugin.setTimeout(decode(SetTimeoutRequest.self, request, operation), call: call)
            return try encode(EmptyResponse())
        case Operation.snapshot:
            return try encode(plugin.snapshot(decode(SnapshotRequest.self, request, operation), call: call))
        case Operation.restore:
            return try encode(plugin.restore(decode(RestoreRequest.self, request, operation), call: call))
        case Operation.deleteSnapshot:
            try plugin.deleteSnapshot(decode(DeleteSnapshotRequest.self, request, operation), call: call)
            return try encode(EmptyResponse())
        case Operation.build:
            return try encode(plugin.build(decode(BuildRequest.self, request, operation), call: call))
        default:
            if let streaming = plugin as? any ExecStreamPlugin, P.capabilities.contains(Capability.execStream),
               let answer = try dispatchExecStream(streaming, operation: operation, request: request, call: call) {
                return answer
            }
            throw .notImplemented(operation)
        }
    }
}

extension Error {
    /// A one-line description of a decoding error (Foundation's are multi-line and verbose).
    var shortDescription: String { JSONFieldError.describe(decoding: self) }
}
