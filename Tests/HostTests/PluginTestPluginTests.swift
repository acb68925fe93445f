import Foundation
import PluginABI
import Basics
import HTTPServer
import YAMLSubset
import PluginProtocol
import Core
import Config
import Store
import Backends
import Lifecycle
import Webhooks
import API
import CLI
import PluginKit
import Synchronization
import Testing

/// The TestPlugin through the real loader: every operation, every failure mode, host callbacks.
@Suite struct PluginTestPluginTests {
    static let start: Int64 = 1_700_000_000_123

    /// A backend on a fresh state dir; returns it with its dir (removed by the caller).
    func backend(_ extra: [String: JSONValue] = [:], clock: FakeClock = FakeClock(ms: start),
                 secrets: [String: String] = [:], logs: LogRecorder = LogRecorder(),
                 stateDir: String? = nil) throws -> (Backend, String) {
        let dir = try stateDir ?? PluginFixtures.makeTempDir()
        let plugin = try PluginLoader.load(path: PluginFixtures.testPluginPath(),
                                           context: makeContext(clock: clock, secrets: secrets, logs: logs))
        var config = extra
        config["state_dir"] = .string(dir)
        return (try plugin.makeBackend(name: "fake", config: .object(config), callTimeout: 10), dir)
    }

    func request(_ id: String, timeout: Int64? = nil) -> CreateRequest {
        CreateRequest(sandboxId: id, hostId: "host-1", profile: "default", image: nil, resources: ResourceLimits(),
                      network: "none", env: [:],
                      labels: [OwnershipLabel.host: "host-1", OwnershipLabel.sandbox: id, OwnershipLabel.profile: "default"],
                      timeoutSeconds: timeout)
    }

    @Test func loadsWithItsIdentityAndCapabilities() throws {
        let (backend, dir) = try backend()
        defer { PluginFixtures.removeTree(dir) }
        #expect(backend.name == "fake")
        #expect(backend.plugin.name == "test")
        #expect(backend.plugin.version == "1.0.0")
        #expect(backend.plugin.abiMajor == 1 && backend.plugin.abiMinor == UInt32(SANDBOXER_ABI_MINOR))
        #expect(backend.capabilities == [Capability.lifecycle, Capability.exec, Capability.inventory, Capability.timeout, Capability.reach])
        #expect(backend.has(Capability.exec))
        #expect(!backend.has("sandboxer.snapshot/1"))
    }

    @Test func everyOperationWorksAndStateSurvivesAcrossInstances() throws {
        let clock = FakeClock(ms: Self.start)
        let (backend, dir) = try backend(clock: clock)
        defer { PluginFixtures.removeTree(dir) }
        let created = try backend.create(request("sbx-1", timeout: 60), timeout: 5)
        #expect(created.backendRef == "tp-sbx-1")
        #expect(created.info["created_at_ms"] == .number(Double(Self.start)))
        let ref = SandboxRef(sandboxId: "sbx-1", backendRef: created.backendRef)

        // A second instance on the same state dir (as a second CLI process would be) sees it.
        let (other, _) = try self.backend(clock: clock, stateDir: dir)
        #expect(try other.status(ref, timeout: 5).state == "running")

        let ran = try backend.exec(ExecRequest(sandboxId: "sbx-1", backendRef: ref.backendRef, argv: ["echo", "hi"]), timeout: 5)
        #expect(ran.exitCode == 0)
        #expect(String(decoding: ran.stdout, as: UTF8.self) == "ran: echo hi\n")
        let exited = try backend.exec(ExecRequest(sandboxId: "sbx-1", backendRef: ref.backendRef, argv: ["exit", "3"]), timeout: nil)
        #expect(exited.exitCode == 3)

        _ = try backend.create(request("sbx-2"), timeout: nil)
        let inventory = try backend.inventory(InventoryRequest(hostId: "host-1"), timeout: 5)
        #expect(inventory.resources.map(\.backendRef) == ["tp-sbx-1", "tp-sbx-2"])
        #expect(inventory.resources.first?.labels[OwnershipLabel.sandbox] == "sbx-1")
        #expect(inventory.resources.first?.createdAtMs == Self.start)

        // The backend's own deadline follows the host clock: set_timeout moves it.
        try backend.setTimeout(SetTimeoutRequest(sandboxId: "sbx-1", backendRef: ref.backendRef, timeoutSeconds: 10), timeout: 5)
        clock.advance(seconds: 9)
        #expect(try backend.status(ref, timeout: 5).state == "running")
        clock.advance(seconds: 1)
        #expect(try backend.status(ref, timeout: 5).state == "stopped")

        try backend.destroy(ref, timeout: 5)
        let gone = #expect(throws: BackendError.self) { try other.status(ref, timeout: 5) }
        #expect(gone?.code == .notFound)
        let again = #expect(throws: BackendError.self) { try backend.destroy(ref, timeout: 5) }
        #expect(again?.code == .notFound)
        #expect(again?.backend == "fake")
        #expect(again?.operation == "destroy")
    }

    @Test func createTwiceIsAConflict() throws {
        let (backend, dir) = try backend()
        defer { PluginFixtures.removeTree(dir) }
        _ = try backend.create(request("sbx-1"), timeout: 5)
        let error = #expect(throws: BackendError.self) { try backend.create(request("sbx-1"), timeout: 5) }
        #expect(error?.code == .conflict)
    }

    @Test(arguments: PluginError.Code.allCases)
    func failModeMapsEveryCode(_ code: PluginError.Code) throws {
        let (backend, dir) = try backend(["fail": ["create": .string(code.description)]])
        defer { PluginFixtures.removeTree(dir) }
        let error = #expect(throws: BackendError.self) { try backend.create(request("sbx-1"), timeout: 5) }
        #expect(error?.code == BackendError.Code(code))
        #expect(error?.code.rawValue == code.description)
        #expect(error?.message.contains("told to fail 'create'") == true)
        #expect(error?.isRetryable == (code == .unavailable))
        // Other operations are unaffected.
        #expect(try backend.inventory(InventoryRequest(hostId: "h"), timeout: 5).resources.isEmpty)
    }

    @Test func hangTimesOutAndThePluginSeesTheCancellation() throws {
        let dir = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(dir) }
        let ready = try FifoReader(path: dir + "/ready")
        let cancelled = try FifoReader(path: dir + "/cancelled")
        let (backend, _) = try backend(["hang": ["create"], "ready_fifo": .string(ready.path),
                                        "cancelled_fifo": .string(cancelled.path)], stateDir: dir)
        let error = #expect(throws: BackendError.self) { try backend.create(request("sbx-9"), timeout: 0.2) }
        #expect(error?.code == .timeout)
        #expect(error?.isRetryable == true)
        #expect(ready.readLine() == "sbx-9")
        // The plugin polls is_cancelled; it reports here once it has seen it turn true.
        #expect(cancelled.readLine() == "sbx-9")
        let log = try String(contentsOfFile: dir + "/cancelled.log", encoding: .utf8)
        #expect(log == "create sbx-9\n")
        // The backend stays usable after abandoning a call.
        #expect(try backend.inventory(InventoryRequest(hostId: "h"), timeout: 5).resources.isEmpty)
    }

    @Test func concurrentCallsWithDeadlinesAllReturnTheirResults() throws {
        let (backend, dir) = try backend()
        defer { PluginFixtures.removeTree(dir) }
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 16) { i in
            do throws(BackendError) {
                let created = try backend.create(request("sbx-\(i)"), timeout: 30)
                if created.backendRef != "tp-sbx-\(i)" { failures.withLock { $0.append("sbx-\(i): \(created.backendRef)") } }
            } catch {
                failures.withLock { $0.append(error.description) }
            }
        }
        #expect(failures.withLock { $0 } == [])
        #expect(try backend.inventory(InventoryRequest(hostId: "h"), timeout: 30).resources.count == 16)
    }

    @Test func bytesThatAreNotJSONAreGarbage() throws {
        let (backend, dir) = try backend(["garbage": ["status"]])
        defer { PluginFixtures.removeTree(dir) }
        let created = try backend.create(request("sbx-1"), timeout: 5)
        let error = #expect(throws: BackendError.self) {
            try backend.status(SandboxRef(sandboxId: "sbx-1", backendRef: created.backendRef), timeout: 5)
        }
        #expect(error?.code == .garbage)
        #expect(error?.isRetryable == false)
        let raw = #expect(throws: BackendError.self) { try backend.invoke("status", Data("{}".utf8), timeout: nil) }
        #expect(raw?.code == .garbage)
    }

    @Test func aCodeOutsideTheClosedListIsGarbage() throws {
        let (backend, dir) = try backend(["garbage_code": ["destroy"]])
        defer { PluginFixtures.removeTree(dir) }
        let error = #expect(throws: BackendError.self) {
            try backend.destroy(SandboxRef(sandboxId: "sbx-1", backendRef: "tp-sbx-1"), timeout: 5)
        }
        #expect(error?.code == .garbage)
        #expect(error?.message.contains("42") == true)
    }

    @Test func aResponseOfTheWrongShapeIsGarbage() throws {
        let (backend, dir) = try backend(["wrong_shape": ["create"]])
        defer { PluginFixtures.removeTree(dir) }
        let error = #expect(throws: BackendError.self) { try backend.create(request("sbx-1"), timeout: 5) }
        #expect(error?.code == .garbage)
        #expect(error?.message.contains("backend_ref") == true)
        // The raw call hands the (valid JSON) bytes back as they are.
        #expect(try backend.invoke("create", Data(#"{"sandbox_id":"x"}"#.utf8), timeout: 5) == Data(#"{"wrong":"shape"}"#.utf8))
    }

    @Test func undeclaredCapabilitiesAndUnknownOperationsAreNotImplemented() throws {
        let (backend, dir) = try backend(["capabilities": [.string(Capability.lifecycle)]])
        defer { PluginFixtures.removeTree(dir) }
        #expect(backend.capabilities == [Capability.lifecycle])
        let created = try backend.create(request("sbx-1"), timeout: 5)
        let exec = #expect(throws: BackendError.self) {
            try backend.exec(ExecRequest(sandboxId: "sbx-1", backendRef: created.backendRef, argv: ["true"]), timeout: 5)
        }
        #expect(exec?.code == .notImplemented)
        let unknown = #expect(throws: BackendError.self) { try backend.invoke("teleport", Data("{}".utf8), timeout: 5) }
        #expect(unknown?.code == .notImplemented)
    }

    @Test func aBadConfigFailsTheInstance() throws {
        let plugin = try PluginLoader.load(path: PluginFixtures.testPluginPath(), context: makeContext(clock: FakeClock(ms: 0)))
        let error = #expect(throws: PluginLoadError.self) {
            try plugin.makeBackend(name: "broken", config: ["fail": ["create": "nope"]], callTimeout: 5)
        }
        #expect(error?.code == .instanceFailed)
        #expect(error?.message.contains("'broken'") == true)
        #expect(error?.message.contains("state_dir") == true)
        #expect(error?.message.contains("\n") == false)
    }

    @Test func theHostClockDrivesThePluginsTime() throws {
        let clock = FakeClock(ms: Self.start)
        let (backend, dir) = try backend(clock: clock)
        defer { PluginFixtures.removeTree(dir) }
        let created = try backend.create(request("sbx-1"), timeout: 5)
        let file = try Data(contentsOf: URL(fileURLWithPath: dir + "/\(created.backendRef).json"))
        let stored = try JSONDecoder().decode(JSONValue.self, from: file)
        #expect(stored["created_at_ms"] == .number(Double(Self.start)))
        clock.advance(seconds: 3600)
        let now = try backend.exec(ExecRequest(sandboxId: "sbx-1", backendRef: created.backendRef, argv: ["now"]), timeout: 5)
        #expect(String(decoding: now.stdout, as: UTF8.self) == "\(Self.start + 3_600_000)\n")
    }

    @Test func secretsComeFromTheHost() throws {
        let (backend, dir) = try backend(secrets: ["token": "s3cret value"])
        defer { PluginFixtures.removeTree(dir) }
        let created = try backend.create(request("sbx-1"), timeout: 5)
        let found = try backend.exec(ExecRequest(sandboxId: "sbx-1", backendRef: created.backendRef, argv: ["secret", "token"]), timeout: 5)
        #expect(found.exitCode == 0)
        #expect(String(decoding: found.stdout, as: UTF8.self) == "s3cret value")
        let missing = try backend.exec(ExecRequest(sandboxId: "sbx-1", backendRef: created.backendRef, argv: ["secret", "other"]), timeout: 5)
        #expect(missing.exitCode == 1)
    }

    @Test func pluginsLogThroughTheHost() throws {
        let logs = LogRecorder()
        let (backend, dir) = try backend(logs: logs)
        defer { PluginFixtures.removeTree(dir) }
        let created = try backend.create(request("sbx-1"), timeout: 5)
        _ = try backend.exec(ExecRequest(sandboxId: "sbx-1", backendRef: created.backendRef, argv: ["log", "hello host"]), timeout: 5)
        let line = logs.all.first { $0.message == "hello host" }
        #expect(line?.level == PluginLogLevel.warning.rawValue)
        let metadata = try #require(line?.metadata)
        #expect(try JSONDecoder().decode([String: String].self, from: Data(metadata.utf8)) == ["backend_ref": created.backendRef])
        #expect(logs.all.contains { $0.message == "created tp-sbx-1" && $0.level == PluginLogLevel.info.rawValue })
    }
}
