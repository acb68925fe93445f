import Foundation
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
import PluginCheck
import Testing

/// A plugin built in its own SwiftPM package that has only the header: the ABI needs nothing else.
@Suite(.tags(.externalBuild),
       .enabled(if: PluginFixtures.hasSwift, "swift is not on PATH; the external package cannot be built"))
struct PluginExternalPackageTests {
    @Test(.timeLimit(.minutes(10)))
    func aSeparatePackageWithOnlyTheHeaderBuildsALoadablePlugin() throws {
        let tmp = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(tmp) }
        let package = tmp + "/ExternalPlugin"
        try FileManager.default.copyItem(atPath: PluginFixtures.repoRoot + "/Tests/Fixtures/ExternalPlugin", toPath: package)
        // Build against the header as it is now, so the fixture's copy cannot drift unnoticed.
        let header = package + "/Sources/CSandboxerABI/include/sandboxer_plugin.h"
        try FileManager.default.removeItem(atPath: header)
        try FileManager.default.copyItem(atPath: PluginFixtures.repoRoot + "/Sources/PluginABI/include/sandboxer_plugin.h", toPath: header)
        try? FileManager.default.removeItem(atPath: package + "/.build")

        let scratch = tmp + "/scratch"
        try PluginFixtures.run(try #require(PluginFixtures.which("swift")),
                               ["build", "-c", "release", "--package-path", package, "--scratch-path", scratch])
        let library = scratch + "/release/libExternalPlugin.so"
        #expect(FileManager.default.fileExists(atPath: library))

        let clock = FakeClock(ms: 1_234_567)
        let plugin = try PluginLoader.load(path: library, context: makeContext(clock: clock))
        #expect(plugin.name == "external")
        #expect(plugin.version == "0.1.0")
        let backend = try plugin.makeBackend(name: "ext", config: [:], callTimeout: 10)
        #expect(backend.capabilities == [Capability.lifecycle])
        let created = try backend.create(CreateRequest(
            sandboxId: "sbx-e1", hostId: "h", profile: "p", image: nil, resources: ResourceLimits(), network: "none",
            env: [:], labels: [:], timeoutSeconds: nil), timeout: 10)
        #expect(created.backendRef == "ext-sbx-e1")
        #expect(created.info["created_at_ms"] == .number(1_234_567))
        let ref = SandboxRef(sandboxId: "sbx-e1", backendRef: created.backendRef)
        #expect(try backend.status(ref, timeout: 10).state == "running")
        try backend.destroy(ref, timeout: 10)
        let gone = #expect(throws: BackendError.self) { try backend.destroy(ref, timeout: 10) }
        #expect(gone?.code == .notFound)

        // The conformance suite passes on it too (reusing this build: a nested build is slow).
        let report = PluginCheck.run(PluginCheck.Options(path: library, threads: 8, callsPerThread: 10))
        #expect(report.passed, "\(report.results.filter { $0.outcome == .fail }.map(\.line))")
        #expect(report.result("lifecycle.create")?.outcome == .pass)
    }
}
