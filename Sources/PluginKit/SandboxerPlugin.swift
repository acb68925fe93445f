import FoundationEssentials
import Glibc
@_exported import PluginProtocol

/// A backend written in Swift: conform one type, then export it with `PluginExport.entry`.
///
/// Each typed operation has a default that answers `not_implemented`; implement the ones whose
/// capability you declare. `invoke(operation:request:call:)` decodes and dispatches by name and may
/// be overridden for operations this kit does not know yet.
public protocol SandboxerPlugin: AnyObject, Sendable {
    /// Backend name, for example "localvm".
    static var name: String { get }
    /// Plugin version (semantic version).
    static var version: String { get }
    /// Capability strings this plugin declares in `describe` (see `Capability`).
    static var capabilities: [String] { get }
    /// Artifact kinds this backend boots from a build (`describe`'s `boot_artifact_kinds`); default none.
    static var bootArtifactKinds: [String] { get }
    /// Facts `describe` reports under `info` (a builder: its tools' versions); default none.
    var describeInfo: [String: JSONValue] { get }

    /// Builds an instance from the backend's config object.
    init(config: JSONValue, host: PluginHost) throws(PluginError)

    func create(_ request: CreateRequest, call: PluginCall) throws(PluginError) -> CreateResponse
    func status(_ request: SandboxRef, call: PluginCall) throws(PluginError) -> StatusResponse
    func destroy(_ request: SandboxRef, call: PluginCall) throws(PluginError)
    func inventory(_ request: InventoryRequest, call: PluginCall) throws(PluginError) -> InventoryResponse
    func exec(_ request: ExecRequest, call: PluginCall) throws(PluginError) -> ExecResponse
    func setTimeout(_ request: SetTimeoutRequest, call: PluginCall) throws(PluginError)
    func snapshot(_ request: SnapshotRequest, call: PluginCall) throws(PluginError) -> SnapshotResponse
    func restore(_ request: RestoreRequest, call: PluginCall) throws(PluginError) -> CreateResponse
    func deleteSnapshot(_ request: DeleteSnapshotRequest, call: PluginCall) throws(PluginError)
    func build(_ request: BuildRequest, call: PluginCall) throws(PluginError) -> BuildResponse

    /// Handles one operation given as JSON bytes; returns the response JSON bytes.
    func invoke(operation: String, request: Data, call: PluginCall) throws(PluginError) -> Data
}

extension SandboxerPlugin {
    public static var bootArtifactKinds: [String] { [] }
    public var describeInfo: [String: JSONValue] { [:] }

    public func create(_ request: CreateRequest, call: PluginCall) throws(PluginError) -> CreateResponse {
        throw .notImplemented(Operation.create)
    }
    public func status(_ request: SandboxRef, call: PluginCall) throws(PluginError) -> StatusResponse {
        throw .notImplemented(Operation.status)
    }
    public func destroy(_ request: SandboxRef, call: PluginCall) throws(PluginError) {
        throw .notImplemented(Operation.destroy)
    }
    public func inventory(_ request: InventoryRequest, call: PluginCall) throws(PluginError) -> InventoryResponse {
        throw .notImplemented(Operation.inventory)
    }
    public func exec(_ request: ExecRequest, call: PluginCall) throws(PluginError) -> ExecResponse {
        throw .notImplemented(Operation.exec)
    }
    public func setTimeout(_ request: SetTimeoutRequest, call: PluginCall) throws(PluginError) {
        throw .notImplemented(Operation.setTimeout)
    }
    public func snapshot(_ request: SnapshotRequest, call: PluginCall) throws(PluginError) -> SnapshotResponse {
        throw .notImplemented(Operation.snapshot)
    }
    public func restore(_ request: RestoreRequest, call: PluginCall) throws(PluginError) -> CreateResponse {
        throw .notImplemented(Operation.restore)
    }
    public func deleteSnapshot(_ request: DeleteSnapshotRequest, call: PluginCall) throws(PluginError) {
        throw .notImplemented(Operation.deleteSnapshot)
    }
    public func build(_ request: BuildRequest, call: PluginCall) throws(PluginError) -> BuildResponse {
        throw .notImplemented(Operation.build)
    }

    public func invoke(operation: String, request: Data, call: PluginCall) throws(PluginError) -> Data {
        try PluginDispatch.dispatch(self, operation: operation, request: request, call: call)
    }
}
