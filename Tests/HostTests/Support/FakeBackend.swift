import Foundation
import PluginKit
import Synchronization
@testable import Basics
@testable import HTTPServer
@testable import YAMLSubset
@testable import PluginProtocol
@testable import Core
@testable import Config
@testable import Store
@testable import Backends
@testable import Lifecycle
@testable import Webhooks
@testable import API
@testable import CLI

/// An in-process backend for lifecycle tests: resources in a dictionary, failures on demand.
final class FakeBackend: SandboxBackend {
    let name = "fake"
    let capabilities = [Capability.lifecycle, Capability.exec, Capability.inventory, Capability.timeout, Capability.snapshot]
    /// `files` stands in for the sandbox's writable state: `exec ["write", NAME]` adds one, snapshots copy them.
    struct Resource: Sendable { var labels: [String: String]; var timeout: Int64?; var files: Set<String> = [] }
    /// Snapshot ref → the files captured.
    let snapshots = Mutex<[String: Set<String>]>([:])
    let resources = Mutex<[String: Resource]>([:])
    let failNext = Mutex<[String: BackendError.Code]>([:])
    let destroyCalls = Mutex<Int>(0)
    /// Runs inside create, e.g. to move a test clock while the backend "boots".
    let onCreate: @Sendable () -> Void
    /// Runs inside exec before anything else, e.g. to destroy the sandbox while its command runs.
    let onExec = Mutex<(@Sendable () -> Void)?>(nil)
    /// Runs inside destroy before anything else, e.g. a barrier proving destroys overlap.
    let onDestroy = Mutex<(@Sendable () -> Void)?>(nil)

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
        if let hook = onDestroy.withLock({ $0 }) { hook() }
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
        if let hook = onExec.withLock({ $0 }) { hook() }
        try check("exec")
        if r.argv.count == 2, r.argv[0] == "write" { resources.withLock { _ = $0[r.backendRef]?.files.insert(r.argv[1]) } }
        if r.argv == ["ls"] {
            let files = resources.withLock { $0[r.backendRef]?.files ?? [] }
            return ExecResponse(exitCode: 0, stdout: Data(files.sorted().map { $0 + "\n" }.joined().utf8), stderr: Data())
        }
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
        consumer: "*"
      idle:
        backend: fake
        ttl: {default: 1d, max: 2d, idle_reap: 10m}
      keeper:
        backend: fake
        ttl: {default: 1h, max: 4h}
        on_expire: snapshot
        snapshots: {keep: 2, max_age: 1d}
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

extension FakeBackend {
    func snapshot(_ r: SnapshotRequest, timeout: Double?) throws(BackendError) -> SnapshotResponse {
        try check("snapshot")
        guard let res = resources.withLock({ $0[r.backendRef] }) else {
            throw BackendError(.notFound, "no such sandbox", backend: name, operation: "snapshot")
        }
        snapshots.withLock { $0["fsnap-" + r.snapshotId] = res.files }
        return SnapshotResponse(snapshotRef: "fsnap-" + r.snapshotId, sizeBytes: Int64(res.files.count))
    }

    func restore(_ r: RestoreRequest, timeout: Double?) throws(BackendError) -> CreateResponse {
        try check("restore")
        guard let files = snapshots.withLock({ $0[r.snapshotRef] }) else {
            throw BackendError(.notFound, "no such snapshot", backend: name, operation: "restore")
        }
        let created = try create(r.create, timeout: timeout)
        resources.withLock { $0[created.backendRef]?.files = files }
        return created
    }

    func deleteSnapshot(_ r: DeleteSnapshotRequest, timeout: Double?) throws(BackendError) {
        try check("delete_snapshot")
        guard snapshots.withLock({ $0.removeValue(forKey: r.snapshotRef) }) != nil else {
            throw BackendError(.notFound, "no such snapshot", backend: name, operation: "delete_snapshot")
        }
    }
}
