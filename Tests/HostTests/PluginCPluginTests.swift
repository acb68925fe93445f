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
import Testing

/// A plugin written in plain C against the header, compiled by the test and loaded for real.
@Suite(.enabled(if: PluginFixtures.hasCC, "cc is not installed; the C plugin cannot be built"))
struct PluginCPluginTests {
    @Test func aCPluginRunsTheLifecycle() throws {
        let dir = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(dir) }
        let path = try PluginFixtures.compileCPlugin(into: dir)
        let clock = FakeClock(ms: 1_650_000_000_000)
        let logs = LogRecorder()
        let plugin = try PluginLoader.load(path: path, context: makeContext(clock: clock, logs: logs))
        #expect(plugin.name == "cplugin")
        #expect(plugin.version == "0.3.0")
        #expect(plugin.abiMajor == 1 && plugin.abiMinor == UInt32(SANDBOXER_ABI_MINOR))

        let backend = try plugin.makeBackend(name: "c", config: [:], callTimeout: 5)
        #expect(backend.capabilities == [Capability.lifecycle, Capability.exec])

        let created = try backend.create(CreateRequest(
            sandboxId: "sbx-c1", hostId: "h", profile: "p", image: nil, resources: ResourceLimits(), network: "none",
            env: [:], labels: [:], timeoutSeconds: nil), timeout: 5)
        #expect(created.backendRef == "c-1")
        #expect(created.info["created_at_ms"] == .number(1_650_000_000_000))
        #expect(logs.all.contains { $0.message == "cplugin: created a sandbox" && $0.metadata == nil })

        let ref = SandboxRef(sandboxId: "sbx-c1", backendRef: created.backendRef)
        #expect(try backend.status(ref, timeout: 5) == StatusResponse(state: "running", info: ["created_at_ms": .number(1_650_000_000_000)]))
        let ran = try backend.exec(ExecRequest(sandboxId: "sbx-c1", backendRef: ref.backendRef, argv: ["hello"]), timeout: nil)
        #expect(String(decoding: ran.stdout, as: UTF8.self) == "hello from C\n")

        try backend.destroy(ref, timeout: 5)
        let gone = #expect(throws: BackendError.self) { try backend.status(ref, timeout: 5) }
        #expect(gone?.code == .notFound)
        let inventory = #expect(throws: BackendError.self) { try backend.inventory(InventoryRequest(hostId: "h"), timeout: 5) }
        #expect(inventory?.code == .notImplemented)
        let bad = #expect(throws: BackendError.self) { try backend.invoke("create", Data("{}".utf8), timeout: 5) }
        #expect(bad?.code == .invalidRequest)
        #expect(bad?.message == "The create request needs a plain 'sandbox_id'.")
    }
}
