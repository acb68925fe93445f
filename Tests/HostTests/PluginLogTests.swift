import Foundation
import PluginKit
import Synchronization
import Testing
@testable import PluginProtocol
@testable import Config
@testable import Backends

/// Plugin log lines name the backend whose load gave the plugin its host table, carry the metadata
/// the plugin passed, and are shown from a threshold (warning; debug with --verbose).
@Suite struct PluginLogTests {
    func request(_ id: String) -> CreateRequest {
        CreateRequest(sandboxId: id, hostId: "host-1", profile: "default", image: nil, resources: ResourceLimits(),
                      network: "none", env: [:], labels: [OwnershipLabel.sandbox: id], timeoutSeconds: nil)
    }

    @Test func pluginLogLinesNameTheirBackendAndCarryMetadata() throws {
        let dir = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(dir) }
        let lines = Mutex<[PluginLogLine]>([])
        let config = try ConfigLoader.parse("""
            data_dir: \(dir)/data
            backends:
              alpha:
                plugin: \(try PluginFixtures.testPluginPath())
                config: {state_dir: \(dir)}
            profiles:
              default: {backend: alpha}
            """, file: "test.yaml", environment: [:], baseDirectory: dir)
        let context = PluginHostContext(now: { Date() }, secret: { _ in nil }, logLine: { line in lines.withLock { $0.append(line) } })
        let backend = try BackendRegistry(config: config, context: context).backend(named: "alpha")
        let created = try backend.create(request("sbx-l"), timeout: 10)
        _ = try backend.exec(ExecRequest(sandboxId: "sbx-l", backendRef: created.backendRef, argv: ["debug", "deep detail"]), timeout: 10)
        let line = try #require(lines.withLock { $0 }.first { $0.message == "deep detail" })
        #expect(line.backend == "alpha")
        #expect(line.level == 0 && line.levelName == "debug")
        #expect(line.rendered == "plugin alpha: debug: deep detail (backend_ref=tp-sbx-l, sandbox_id=sbx-l)")
        #expect(lines.withLock { $0 }.contains { $0.rendered == "plugin alpha: info: created tp-sbx-l (sandbox_id=sbx-l)" })
    }

    @Test func theLogThresholdComesFromVerboseOrTheEnvironment() {
        #expect(PluginLogLevel.threshold(verbose: false, environment: [:]) == .warning)
        #expect(PluginLogLevel.threshold(verbose: true, environment: ["SANDBOXER_LOG": "error"]) == .debug)
        #expect(PluginLogLevel.threshold(verbose: false, environment: ["SANDBOXER_LOG": "debug"]) == .debug)
        #expect(PluginLogLevel.threshold(verbose: false, environment: ["SANDBOXER_LOG": "INFO"]) == .info)
        #expect(PluginLogLevel.threshold(verbose: false, environment: ["SANDBOXER_LOG": "loud"]) == .warning)
        #expect(PluginLogLevel.warning.shows(2) && PluginLogLevel.warning.shows(3) && !PluginLogLevel.warning.shows(1))
        #expect(PluginLogLevel.error.shows(9), "an unknown level is shown rather than lost")
        let odd = PluginLogLine(backend: "b", level: 2, message: "m", metadataJSON: #"{"n":1,"s":"x","o":{"k":true}}"#)
        #expect(odd.rendered == #"plugin b: warning: m (n=1, o={"k":true}, s=x)"#)
        let notObject = PluginLogLine(backend: "b", level: 3, message: "m", metadataJSON: "[1]")
        #expect(notObject.rendered == "plugin b: error: m (metadata=[1])")
    }

    @Test func aLongLogMessageIsCut() throws {
        let dir = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(dir) }
        let logs = LogRecorder()
        let plugin = try PluginLoader.load(path: PluginFixtures.testPluginPath(), context: makeContext(clock: FakeClock(ms: 1), logs: logs))
        let backend = try plugin.makeBackend(name: "fake", config: ["state_dir": .string(dir)], callTimeout: 10)
        let created = try backend.create(request("sbx-m"), timeout: 10)
        let long = String(repeating: "y", count: 10_000)
        _ = try backend.exec(ExecRequest(sandboxId: "sbx-m", backendRef: created.backendRef, argv: ["log", long]), timeout: 10)
        let line = try #require(logs.all.first { $0.message.hasPrefix("yyy") })
        #expect(line.message == String(repeating: "y", count: 4096) + "… (5904 bytes cut)")
    }
}
