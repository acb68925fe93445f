import Foundation
import PluginKit
import Synchronization
@testable import Host

/// An in-process backend for lifecycle tests: resources in a dictionary, failures on demand.
final class FakeBackend: SandboxBackend {
    let name = "fake"
    let capabilities = [Capability.lifecycle, Capability.exec, Capability.inventory, Capability.timeout]
    struct Resource: Sendable { var labels: [String: String]; var timeout: Int64? }
    let resources = Mutex<[String: Resource]>([:])
    let failNext = Mutex<[String: BackendError.Code]>([:])
    let destroyCalls = Mutex<Int>(0)
    /// Runs inside create, e.g. to move a test clock while the backend "boots".
    let onCreate: @Sendable () -> Void

    init(onCreate: @escaping @Sendable () -> Void = {}) { self.onCreate = onCreate }

    func fail(_ operation: String, with code: BackendError.Code) { failNext.withLock { $0[operation] = code } }

    private func check(_ operation: String) throws(BackendError) {
        if let code = failNext.withLock({ $0.removeValue(forKey: operation) }) {
            throw BackendError(code, "injected failure", backend: name, operation: operation)
        }
    }

    func create(_ r: CreateRequest, timeout: Double?) throws(BackendError) -> CreateResponse {
        try check("create")
        onCreate()
        resources.withLock { $0["ref-" + r.sandboxId] = Resource(labels: r.labels, timeout: r.timeoutSeconds) }
        return CreateResponse(backendRef: "ref-" + r.sandboxId)
    }

    func status(_ r: SandboxRef, timeout: Double?) throws(BackendError) -> StatusResponse {
        try check("status")
        guard resources.withLock({ $0[r.backendRef] }) != nil else {
            throw BackendError(.notFound, "no such sandbox", backend: name, operation: "status")
        }
        return StatusResponse(state: "running")
    }

    func destroy(_ r: SandboxRef, timeout: Double?) throws(BackendError) {
        destroyCalls.withLock { $0 += 1 }
        try check("destroy")
        guard resources.withLock({ $0.removeValue(forKey: r.backendRef) }) != nil else {
            throw BackendError(.notFound, "no such sandbox", backend: name, operation: "destroy")
        }
    }

    func inventory(_ r: InventoryRequest, timeout: Double?) throws(BackendError) -> InventoryResponse {
        try check("inventory")
        return InventoryResponse(resources: resources.withLock { $0 }.map { ref, res in
            InventoryItem(backendRef: ref, sandboxId: res.labels[OwnershipLabel.sandbox], labels: res.labels, createdAtMs: nil)
        })
    }

    func exec(_ r: ExecRequest, timeout: Double?) throws(BackendError) -> ExecResponse {
        try check("exec")
        return ExecResponse(exitCode: 0, stdout: Data("ran \(r.argv.joined(separator: " "))\n".utf8), stderr: Data())
    }

    func setTimeout(_ r: SetTimeoutRequest, timeout: Double?) throws(BackendError) {
        try check("set_timeout")
        resources.withLock { $0[r.backendRef]?.timeout = r.timeoutSeconds }
    }
}

/// A service on a temp SQLite file, a manual clock and a fake backend.
struct ServiceFixture {
    let dir: String
    let clock = ManualClock()
    let backend: FakeBackend
    let service: SandboxService

    static let configText = """
    data_dir: DATA
    host_id: host-test
    backends:
      fake:
        plugin: /nonexistent/libfake.so
    profiles:
      default:
        backend: fake
        ttl: {default: 1h, max: 4h}
      idle:
        backend: fake
        ttl: {default: 1d, max: 2d, idle_reap: 10m}
    """

    init() throws {
        dir = NSTemporaryDirectory() + "sandboxer-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let clock = self.clock
        backend = FakeBackend(onCreate: { clock.advance(5) })
        let config = try ConfigLoader.parse(Self.configText.replacingOccurrences(of: "DATA", with: dir),
                                            file: "test.yaml", environment: [:], baseDirectory: dir)
        let store = try SandboxStore(path: dir + "/sandboxer.db")
        let context = PluginHostContext(now: { clock.now() }, secret: { _ in nil }, log: { _, _, _ in })
        service = SandboxService(config: config, store: store,
                                 backends: BackendRegistry(config: config, context: context, preloaded: ["fake": backend]),
                                 clock: clock, hostId: "host-test")
    }
}
