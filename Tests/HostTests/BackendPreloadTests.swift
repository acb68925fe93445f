import FoundationEssentials
import Testing
@testable import Backends
@testable import Core
@testable import PluginProtocol

/// `BackendRegistry.preload`: the load a command starts beside its store's open is the one
/// `backend(named:)` hands out, or the failure it throws.
@Suite struct BackendPreloadTests {
    func registry(plugin: String) throws -> (BackendRegistry, String) {
        let dir = try PluginFixtures.makeTempDir()
        try FileManager.default.createDirectory(atPath: dir + "/state", withIntermediateDirectories: true)
        let entry = BackendConfig(name: "t", plugin: plugin, config: .object(["state_dir": .string(dir + "/state")]),
                                  isolation: .inProcess)
        let config = Config(dataDir: dir + "/data", backends: ["t": entry], profiles: [:], source: "test")
        return (BackendRegistry(config: config, context: makeContext(clock: FakeClock(ms: 1_000))), dir)
    }

    @Test func thePreloadedBackendIsTheOneHandedOut() throws {
        let (registry, dir) = try registry(plugin: try PluginFixtures.testPluginPath())
        defer { PluginFixtures.removeTree(dir) }
        registry.preload("t")
        let first = try #require(try registry.backend(named: "t") as? Backend)
        let second = try #require(try registry.backend(named: "t") as? Backend)
        #expect(first === second)
        #expect(first.plugin.name == "test")
        // The load removes its gate before it opens it, so a caller it woke finds none left.
        #expect(registry.preloads.withLock { $0.isEmpty })
    }

    @Test func aFailedPreloadIsWhatTheFirstUseThrows() throws {
        let (registry, dir) = try registry(plugin: "/nonexistent/libSandboxerNothing.so")
        defer { PluginFixtures.removeTree(dir) }
        registry.preload("t")
        var messages: [String] = []
        for _ in 0..<2 {
            do { _ = try registry.backend(named: "t"); Issue.record("a missing plugin loaded") } catch {
                #expect(error.code == .plugin)
                messages.append(error.message)
            }
        }
        #expect(messages.count == 2 && messages[0] == messages[1], "\(messages)")
        #expect(messages.first?.contains("/nonexistent/libSandboxerNothing.so") == true, "\(messages)")
    }

    @Test func anUnknownBackendIsNotPreloaded() {
        let config = Config(dataDir: "/nonexistent", backends: [:], profiles: [:], source: "test")
        let registry = BackendRegistry(config: config, context: makeContext(clock: FakeClock(ms: 1_000)))
        registry.preload("nope")
        #expect(throws: SandboxerError.self) { try registry.backend(named: "nope") }
    }
}
