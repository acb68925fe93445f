import FoundationEssentials
import Glibc
import Core
import Config
import PluginProtocol
import Basics

/// What the lifecycle needs from a backend. A loaded plugin (`Backend`) is one; tests may supply
/// an in-process fake.
public protocol SandboxBackend: AnyObject, Sendable {
    /// The backend's name in the host config.
    var name: String { get }
    /// Capability strings the plugin declared.
    var capabilities: [String] { get }
    func create(_ r: CreateRequest, timeout: Double?) throws(BackendError) -> CreateResponse
    func status(_ r: SandboxRef, timeout: Double?) throws(BackendError) -> StatusResponse
    func destroy(_ r: SandboxRef, timeout: Double?) throws(BackendError)
    func inventory(_ r: InventoryRequest, timeout: Double?) throws(BackendError) -> InventoryResponse
    func exec(_ r: ExecRequest, timeout: Double?) throws(BackendError) -> ExecResponse
    func setTimeout(_ r: SetTimeoutRequest, timeout: Double?) throws(BackendError)
    func snapshot(_ r: SnapshotRequest, timeout: Double?) throws(BackendError) -> SnapshotResponse
    func restore(_ r: RestoreRequest, timeout: Double?) throws(BackendError) -> CreateResponse
    func deleteSnapshot(_ r: DeleteSnapshotRequest, timeout: Double?) throws(BackendError)
    /// `endpoints` (`sandboxer.reach/1`); conformers without it inherit a `not_implemented` answer.
    func endpoints(_ r: EndpointsRequest, timeout: Double?) throws(BackendError) -> EndpointsResponse
}

extension SandboxBackend {
    /// Whether the plugin declared `capability`.
    public func supports(_ capability: String) -> Bool { capabilities.contains(capability) }

    /// Backends that cannot say how to reach a sandbox (test fakes written before `sandboxer.reach/1`).
    public func endpoints(_ r: EndpointsRequest, timeout: Double?) throws(BackendError) -> EndpointsResponse {
        throw BackendError(.notImplemented, EndpointRules.undeclared(name), backend: name, operation: Operation.endpoints)
    }
}

extension Backend: SandboxBackend {}

extension BackendError {
    /// The host error a front reports for this backend failure. A plugin's `invalid_request` is the
    /// backend refusing what the host sent: a backend failure (CLI exit 3, HTTP 502), never a usage
    /// error of the caller's (exit 2).
    package var hostError: SandboxerError {
        let text = "Backend \(backend) failed to \(operation): \(message)"
        switch code {
        case .notFound: return SandboxerError(.notFound, text)
        case .conflict: return SandboxerError(.conflict, text)
        case .unavailable, .timeout, .cancelled: return SandboxerError(.unavailable, text)
        default: return SandboxerError(.backend, text)
        }
    }
}
