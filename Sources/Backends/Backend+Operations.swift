import FoundationEssentials
import Glibc
import Core
import Config
import PluginProtocol
import Basics

// Typed calls over PluginKit's messages. A response that does not decode is `.garbage`.
extension Backend {
    /// Runs an operation with a typed request and response.
    func call<Request: Encodable, Response: Decodable>(_ operation: String, _ request: Request, as: Response.Type,
                                                       timeout: Double?, exact: Bool = false) throws(BackendError) -> Response {
        let body = try Backend.encode(request, backend: name, operation: operation)
        let answer = exact ? try invoke(operation, body, exactTimeout: timeout) : try invoke(operation, body, timeout: timeout)
        return try Backend.decode(Response.self, answer, backend: name, operation: operation)
    }

    /// `describe`: the plugin's name, version and capabilities.
    public func describe(timeout: Double?) throws(BackendError) -> DescribeResponse {
        try call(Operation.describe, EmptyResponse(), as: DescribeResponse.self, timeout: timeout)
    }

    /// `create`: provisions a sandbox; returns the backend's handle for it.
    public func create(_ r: CreateRequest, timeout: Double?) throws(BackendError) -> CreateResponse {
        // Both ways without Codable (Messages+CreateJSON.swift, Messages+LifecycleJSON.swift).
        guard let request = r.jsonData else {
            throw BackendError(.internal, "The host could not encode the 'create' request: a number in it is not finite.",
                               backend: name, operation: Operation.create)
        }
        let answer = try invoke(Operation.create, request, timeout: timeout)
        return try Backend.read(answer, backend: name, operation: Operation.create, CreateResponse.init(json:))
    }

    /// `status`: whether the sandbox runs; `.notFound` when it is gone.
    public func status(_ r: SandboxRef, timeout: Double?) throws(BackendError) -> StatusResponse {
        try call(Operation.status, r, as: StatusResponse.self, timeout: timeout)
    }

    /// `destroy`: removes the sandbox; `.notFound` means it was already gone.
    public func destroy(_ r: SandboxRef, timeout: Double?) throws(BackendError) {
        _ = try invoke(Operation.destroy, r.jsonData, timeout: timeout)
    }

    /// `inventory`: every labelled resource the backend holds.
    public func inventory(_ r: InventoryRequest, timeout: Double?) throws(BackendError) -> InventoryResponse {
        try call(Operation.inventory, r, as: InventoryResponse.self, timeout: timeout)
    }

    /// `exec`: runs a command in the sandbox; a non-zero exit code is a result, not an error.
    /// An exec that names its own `timeout_seconds` keeps the caller's deadline (derived from it);
    /// the `timeouts:` map applies to the others.
    public func exec(_ r: ExecRequest, timeout: Double?) throws(BackendError) -> ExecResponse {
        // Both ways without Codable (Messages+ExecJSON.swift).
        let answer = r.timeoutSeconds != nil ? try invoke(Operation.exec, r.jsonData, exactTimeout: timeout)
                                             : try invoke(Operation.exec, r.jsonData, timeout: timeout)
        return try Backend.read(answer, backend: name, operation: Operation.exec, ExecResponse.init(json:))
    }

    /// `set_timeout`: moves the backend's own deadline to now + `timeoutSeconds`.
    public func setTimeout(_ r: SetTimeoutRequest, timeout: Double?) throws(BackendError) {
        _ = try invoke(Operation.setTimeout, Backend.encode(r, backend: name, operation: Operation.setTimeout), timeout: timeout)
    }

    /// `snapshot`: captures the sandbox's writable state; the sandbox keeps running.
    public func snapshot(_ r: SnapshotRequest, timeout: Double?) throws(BackendError) -> SnapshotResponse {
        try call(Operation.snapshot, r, as: SnapshotResponse.self, timeout: timeout)
    }

    /// `restore`: creates a sandbox (as `create` does) starting from a snapshot's state.
    public func restore(_ r: RestoreRequest, timeout: Double?) throws(BackendError) -> CreateResponse {
        try call(Operation.restore, r, as: CreateResponse.self, timeout: timeout)
    }

    /// `delete_snapshot`: removes a snapshot; `.notFound` means it was already gone.
    public func deleteSnapshot(_ r: DeleteSnapshotRequest, timeout: Double?) throws(BackendError) {
        _ = try invoke(Operation.deleteSnapshot, Backend.encode(r, backend: name, operation: Operation.deleteSnapshot),
                       timeout: timeout)
    }
}
