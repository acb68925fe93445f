import Foundation
import PluginKit
import Testing
@testable import Basics
@testable import PluginProtocol
@testable import Core
@testable import Config
@testable import Backends

/// What the host takes from a plugin is bounded: error messages are cut, oversized responses refused,
/// and every call has a deadline the operator can set per backend and operation.
@Suite struct PluginLimitsTests {
    func request(_ id: String) -> CreateRequest {
        CreateRequest(sandboxId: id, hostId: "host-1", profile: "default", image: nil, resources: ResourceLimits(),
                      network: "none", env: [:], labels: [OwnershipLabel.sandbox: id], timeoutSeconds: nil)
    }

    /// A registry whose one backend `fake` runs the TestPlugin with `backendYAML` under it.
    func registry(_ dir: String, backendYAML: String = "", pluginConfig: String = "") throws -> BackendRegistry {
        let text = """
            data_dir: \(dir)/data
            backends:
              fake:
                plugin: \(try PluginFixtures.testPluginPath())
            \(backendYAML)
                config:
                  state_dir: \(dir)
            \(pluginConfig)
            profiles:
              default:
                backend: fake
            """
        let config = try ConfigLoader.parse(text, file: "test.yaml", environment: [:], baseDirectory: dir)
        return BackendRegistry(config: config, context: makeContext(clock: FakeClock(ms: 1_000)))
    }

    @Test func oneLineCutsOnACharacterBoundaryAndSaysHowMuch() {
        #expect(PluginLimits.oneLine(Data("short\nmessage".utf8)) == "short message")
        // 5 bytes: "a" then two 2-byte characters; a 4-byte cap would split the second "é".
        let text = Data("aéé".utf8)
        #expect(PluginLimits.oneLine(text, limit: 4) == "aé… (2 bytes cut)")
        #expect(PluginLimits.oneLine(text, limit: 3) == "aé… (2 bytes cut)")
        #expect(PluginLimits.oneLine(text, limit: 2) == "a… (4 bytes cut)")
        #expect(PluginLimits.oneLine(text, limit: 5) == "aéé")
        // Only a prefix was copied: the total says how long the message was.
        #expect(PluginLimits.oneLine(Data("abcde".utf8), total: 1_000, limit: 4) == "abcd… (996 bytes cut)")
        #expect(PluginLimits.describe(bytes: 16 << 20) == "16 MiB")
        #expect(PluginLimits.describe(bytes: 4096) == "4 KiB")
    }

    @Test func aHugeErrorMessageIsCutToTheCap() throws {
        let dir = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(dir) }
        let backend = try registry(dir, pluginConfig: "      huge_error: {create: 100000000}").backend(named: "fake")
        let error = #expect(throws: BackendError.self) { try backend.create(request("sbx-h"), timeout: 60) }
        #expect(error?.code == .internal)
        let message = try #require(error?.message)
        #expect(message.hasPrefix("huge: €€€"))
        #expect(message.utf8.count <= PluginLimits.messageBytes + 40, "\(message.utf8.count) bytes")
        // 4096 bytes would end inside a 3-byte character: the cut backs off to its start.
        let kept = 6 + (PluginLimits.messageBytes - 6) / 3 * 3
        #expect(message.hasSuffix("€… (\(100_000_000 - kept) bytes cut)"), "\(message.suffix(40))")
    }

    @Test func aResponseAboveTheBackendsCapIsRefusedAsThePluginsFault() throws {
        let dir = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(dir) }
        let backend = try registry(dir, backendYAML: "    max_response: 1K",
                                   pluginConfig: "      huge_response: {status: 4096, inventory: 1000}").backend(named: "fake")
        let error = #expect(throws: BackendError.self) {
            try backend.status(SandboxRef(sandboxId: "sbx-1", backendRef: "tp-sbx-1"), timeout: 10)
        }
        #expect(error?.code == .internal)
        #expect(error?.message.contains("returned a response larger than the 1 KiB the host accepts (4096 bytes)") == true,
                "\(error?.message ?? "")")
        // Below the cap the same kind of answer is read (and here judged by its shape).
        let small = #expect(throws: BackendError.self) { try backend.inventory(InventoryRequest(hostId: "h"), timeout: 10) }
        #expect(small?.code == .garbage)
    }

    @Test func aPerOperationDeadlineFromTheConfigIsHonoured() throws {
        let dir = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(dir) }
        let ready = try FifoReader(path: dir + "/ready")
        let backend = try registry(dir, backendYAML: "    timeouts: {default: 5m, create: 1s}",
                                   pluginConfig: "      hang: [create]\n      ready_fifo: \(ready.path)").backend(named: "fake")
        let clock = ContinuousClock()
        let started = clock.now
        // The lifecycle asks for its built-in 300 s; the backend's map says 1 s for create.
        let error = #expect(throws: BackendError.self) { try backend.create(request("sbx-d"), timeout: 300) }
        let elapsed = clock.now - started
        #expect(error?.code == .timeout)
        #expect(error?.message.contains("within 1 s") == true, "\(error?.message ?? "")")
        // The plugin really was inside the call, and the host gave up at the deadline, not before.
        #expect(ready.readLine() == "sbx-d")
        #expect(elapsed >= .seconds(1) && elapsed < .seconds(30), "\(elapsed)")
        let described = try #require(backend as? Backend)
        #expect(described.deadlines.resolve(Operation.create, requested: 300) == 1)
        #expect(described.deadlines.resolve(Operation.status, requested: 60) == 300)
    }

    @Test func deadlinesResolveOperationThenDefaultThenTheCallersOwn() {
        let none = BackendDeadlines()
        #expect(none.resolve("create", requested: 300) == 300)
        #expect(none.resolve("exec", requested: nil) == nil)
        let some = BackendDeadlines(seconds: ["create": 600, "default": 30])
        #expect(some.resolve("create", requested: 300) == 600)
        #expect(some.resolve("destroy", requested: 120) == 30)
        #expect(some.resolve("exec", requested: nil) == 30)
    }
}
