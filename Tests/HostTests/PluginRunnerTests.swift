import Foundation
import Glibc
import PluginProtocol
import Core
import Backends
import Synchronization
import Testing

/// Plugins out of process: the TestPlugin in a plugin runner (`sandboxer __plugin-runner`), through
/// the registry as the host uses it. Crashes, stuck calls, proxied callbacks and cancellation.
@Suite struct PluginRunnerTests {
    static let start: Int64 = 1_700_000_000_123

    /// The `sandboxer` executable SwiftPM built next to the test binary.
    static var runnerExecutable: String? {
        guard case .success(let dir) = PluginFixtures.productsDir, access(dir + "/sandboxer", X_OK) == 0 else { return nil }
        return dir + "/sandboxer"
    }
    static let hasRunner = runnerExecutable != nil

    /// Runner settings for tests: short graces, so a stuck call is killed quickly.
    static func settings(cancelGrace: Double = 0.2) -> PluginRunnerSettings {
        var settings = PluginRunnerSettings(executable: runnerExecutable)
        settings.cancelGrace = cancelGrace
        settings.terminateGrace = 1
        settings.shutdownGrace = 5
        return settings
    }

    /// A registry with TestPlugin backends, each `name → extra config`, all `isolation: process`
    /// unless named in `inProcess`. Returns it with the state dir (removed by the caller).
    func registry(_ backends: [String: [String: JSONValue]], inProcess: Set<String> = [], settings: PluginRunnerSettings = settings(),
                  clock: FakeClock = FakeClock(ms: start), secrets: [String: String] = [:],
                  logs: LogRecorder = LogRecorder()) throws -> (BackendRegistry, String) {
        let dir = try PluginFixtures.makeTempDir()
        let path = try PluginFixtures.testPluginPath()
        var entries: [String: BackendConfig] = [:]
        for (name, extra) in backends {
            let state = dir + "/" + name
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            var config = extra
            config["state_dir"] = .string(state)
            entries[name] = BackendConfig(name: name, plugin: path, config: .object(config),
                                          isolation: inProcess.contains(name) ? .inProcess : .process)
        }
        let config = Config(dataDir: dir + "/data", backends: entries, profiles: [:], source: "test")
        let registry = BackendRegistry(config: config, context: makeContext(clock: clock, secrets: secrets, logs: logs),
                                       runner: settings)
        return (registry, dir)
    }

    func backend(_ registry: BackendRegistry, _ name: String) throws -> Backend {
        try #require(try registry.backend(named: name) as? Backend)
    }

    func request(_ id: String) -> CreateRequest {
        CreateRequest(sandboxId: id, hostId: "host-1", profile: "default", image: nil, resources: ResourceLimits(),
                      network: "none", env: [:],
                      labels: [OwnershipLabel.host: "host-1", OwnershipLabel.sandbox: id, OwnershipLabel.profile: "default"],
                      timeoutSeconds: nil)
    }

    /// Whether `pid` still runs (a zombie counts as gone: it runs nothing, and PID 1 reaps slowly).
    static func isRunning(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state != "Z" && state != "X"
    }

    @Test(.enabled(if: hasRunner, "the sandboxer executable is not built next to the tests"))
    func aBackendRunsOutOfProcessWithItsIdentity() throws {
        let (registry, dir) = try registry(["iso": [:]])
        defer { registry.stopRunners(); PluginFixtures.removeTree(dir) }
        let b = try backend(registry, "iso")
        #expect(b.isolation == .process)
        #expect(b.plugin.name == "test" && b.plugin.version == "1.0.0")
        #expect(b.capabilities.contains(Capability.exec))
        let pid = try #require(b.runnerProcessID)
        #expect(pid != getpid() && Self.isRunning(pid))
        let created = try b.create(request("sbx-1"), timeout: 10)
        #expect(created.backendRef == "tp-sbx-1")
        #expect(try b.status(SandboxRef(sandboxId: "sbx-1", backendRef: created.backendRef), timeout: 10).state == "running")
    }

    @Test(.enabled(if: hasRunner, "the sandboxer executable is not built next to the tests"),
          arguments: [("segv", "crashed with SIGSEGV"), ("abort", "crashed with SIGABRT"), ("exit", "exited with status 7")])
    func aCrashFailsOnlyTheCallInFlightAndTheRunnerRestarts(kind: String, phrase: String) throws {
        let (registry, dir) = try registry(["crashy": ["crash": .object(["status": .string(kind)])], "steady": [:]])
        defer { registry.stopRunners(); PluginFixtures.removeTree(dir) }
        let crashy = try backend(registry, "crashy"), steady = try backend(registry, "steady")
        let created = try crashy.create(request("sbx-c"), timeout: 10)
        let first = try #require(crashy.runnerProcessID)
        let steadyPid = try #require(steady.runnerProcessID)

        let error = #expect(throws: BackendError.self) {
            try crashy.status(SandboxRef(sandboxId: "sbx-c", backendRef: created.backendRef), timeout: 10)
        }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("The plugin test (backend crashy) \(phrase)") == true, "\(String(describing: error))")
        #expect(crashy.waitRunnerGone(30))
        #expect(!Self.isRunning(first))

        // The same backend works again (a fresh runner), and the other backend never noticed.
        let listed = try crashy.inventory(InventoryRequest(hostId: "host-1"), timeout: 10)
        #expect(listed.resources.map(\.backendRef) == ["tp-sbx-c"])
        let second = try #require(crashy.runnerProcessID)
        #expect(second != first)
        #expect(try steady.create(request("sbx-s"), timeout: 10).backendRef == "tp-sbx-s")
        #expect(steady.runnerProcessID == steadyPid)
    }

    @Test(.enabled(if: hasRunner, "the sandboxer executable is not built next to the tests"))
    func aStuckCallPastItsDeadlineKillsTheRunner() throws {
        let (registry, dir) = try registry(["stuck": ["crash": .object(["status": .string("stuck")])]])
        defer { registry.stopRunners(); PluginFixtures.removeTree(dir) }
        let b = try backend(registry, "stuck")
        let created = try b.create(request("sbx-h"), timeout: 10)
        let pid = try #require(b.runnerProcessID)
        let error = #expect(throws: BackendError.self) {
            try b.status(SandboxRef(sandboxId: "sbx-h", backendRef: created.backendRef), timeout: 0.3)
        }
        #expect(error?.code == .timeout)
        // The call was not abandoned: its runner is killed once the cancel grace passes.
        #expect(b.waitRunnerGone(30))
        #expect(!Self.isRunning(pid))
        #expect(kill(pid, 0) != 0, "the runner was reaped, not left a zombie")
        #expect(try b.inventory(InventoryRequest(hostId: "host-1"), timeout: 10).resources.count == 1)
    }

    @Test(.enabled(if: hasRunner, "the sandboxer executable is not built next to the tests"))
    func cancellationIsProxiedToTheRunner() throws {
        let dir = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(dir) }
        let ready = try FifoReader(path: dir + "/ready"), cancelled = try FifoReader(path: dir + "/cancelled")
        let (registry, stateDir) = try registry(["hangs": ["hang": .array([.string("status")]), "ready_fifo": .string(ready.path),
                                                           "cancelled_fifo": .string(cancelled.path)]],
                                                settings: Self.settings(cancelGrace: 60))
        defer { registry.stopRunners(); PluginFixtures.removeTree(stateDir) }
        let b = try backend(registry, "hangs")
        let created = try b.create(request("sbx-x"), timeout: 10)
        let pid = try #require(b.runnerProcessID)
        let error = #expect(throws: BackendError.self) {
            try b.status(SandboxRef(sandboxId: "sbx-x", backendRef: created.backendRef), timeout: 0.3)
        }
        #expect(error?.code == .timeout)
        #expect(ready.readLine() == "sbx-x")
        // The plugin saw is_cancelled turn 1 in its own process, and returned: no kill was needed.
        #expect(cancelled.readLine() == "sbx-x")
        #expect(try b.inventory(InventoryRequest(hostId: "host-1"), timeout: 10).resources.count == 1)
        #expect(b.runnerProcessID == pid)
    }

    @Test(.enabled(if: hasRunner, "the sandboxer executable is not built next to the tests"))
    func secretsClockAndLogLinesAreProxied() throws {
        let clock = FakeClock(ms: Self.start), logs = LogRecorder()
        let (registry, dir) = try registry(["iso": [:]], clock: clock, secrets: ["API_KEY": "s3cr3t"], logs: logs)
        defer { registry.stopRunners(); PluginFixtures.removeTree(dir) }
        let b = try backend(registry, "iso")
        let created = try b.create(request("sbx-p"), timeout: 10)
        func exec(_ argv: [String]) throws -> ExecResponse {
            try b.exec(ExecRequest(sandboxId: "sbx-p", backendRef: created.backendRef, argv: argv), timeout: 10)
        }
        #expect(String(decoding: try exec(["secret", "API_KEY"]).stdout, as: UTF8.self) == "s3cr3t")
        #expect(try exec(["secret", "NOPE"]).exitCode == 1)
        clock.advance(seconds: 42)
        #expect(String(decoding: try exec(["now"]).stdout, as: UTF8.self) == "\(Self.start + 42_000)\n")
        _ = try exec(["log", "hello from the runner"])
        #expect(logs.all.contains { $0.level == 2 && $0.message == "hello from the runner" && $0.metadata?.contains("tp-sbx-p") == true })
        #expect(logs.all.contains { $0.message == "created tp-sbx-p" })
    }

    @Test(.enabled(if: hasRunner, "the sandboxer executable is not built next to the tests"))
    func theRunnerHoldsNoOtherDescriptorsAndNoSecrets() throws {
        setenv("SANDBOXER_SECRET_RUNNER_TEST", "must-not-leak", 1)
        let (registry, dir) = try registry(["iso": [:]])
        defer { registry.stopRunners(); PluginFixtures.removeTree(dir) }
        let pid = try #require(try backend(registry, "iso").runnerProcessID)
        let fds = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").compactMap(Int.init).sorted()
        #expect(fds == [0, 1, 2, 3], "the runner keeps only stdio and its socket")
        let environ = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))
        #expect(!String(decoding: environ, as: UTF8.self).contains("SANDBOXER_SECRET_"))
        let cmdline = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))
        #expect(String(decoding: cmdline, as: UTF8.self).contains("__plugin-runner"))
    }

    @Test(.enabled(if: hasRunner, "the sandboxer executable is not built next to the tests"))
    func aPluginThatCannotStartFailsAsInProcess() throws {
        let (registry, dir) = try registry(["iso": ["capabilities": .string("not a list")]])
        defer { PluginFixtures.removeTree(dir) }
        let error = #expect(throws: SandboxerError.self) { try registry.backend(named: "iso") }
        #expect(error?.code == .plugin)
        #expect(error?.message.contains("'capabilities' must be an array of strings") == true, "\(String(describing: error))")
    }

    @Test(.enabled(if: hasRunner, "the sandboxer executable is not built next to the tests"))
    func shutdownCancelsCallsInFlightThenStopsTheRunner() throws {
        let dir = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(dir) }
        let ready = try FifoReader(path: dir + "/ready"), cancelled = try FifoReader(path: dir + "/cancelled")
        let (registry, stateDir) = try registry(["hangs": ["hang": .array([.string("status")]), "ready_fifo": .string(ready.path),
                                                           "cancelled_fifo": .string(cancelled.path)]])
        defer { PluginFixtures.removeTree(stateDir) }
        let b = try backend(registry, "hangs")
        let created = try b.create(request("sbx-d"), timeout: 10)
        let pid = try #require(b.runnerProcessID)
        let outcome = Mutex<BackendError?>(nil)
        let finished = DispatchSemaphore(value: 0)
        Thread {
            do { _ = try b.status(SandboxRef(sandboxId: "sbx-d", backendRef: created.backendRef), timeout: nil) } catch {
                outcome.withLock { $0 = error as? BackendError }
            }
            finished.signal()
        }.start()
        #expect(ready.readLine() == "sbx-d")
        registry.stopRunners()
        #expect(cancelled.readLine() == "sbx-d")
        finished.wait()
        #expect(outcome.withLock { $0 }?.code == .cancelled)  // the plugin's own answer to a cancelled call
        #expect(b.waitRunnerGone(30) && !Self.isRunning(pid))
        let after = #expect(throws: BackendError.self) { try b.inventory(InventoryRequest(hostId: "host-1"), timeout: 10) }
        #expect(after?.message.contains("shutting down") == true)
    }

    @Test func isolationDefaultsByWhereThePluginSits() throws {
        let exe = try #require(PluginIsolation.runningExecutable)
        let dir = (exe as NSString).deletingLastPathComponent
        #expect(PluginIsolation.default(forPlugin: dir + "/libSandboxerLocalVM.so") == .inProcess)
        #expect(PluginIsolation.default(forPlugin: "/opt/vendor/libthirdparty.so") == .process)
        #expect(PluginIsolation.default(forPlugin: "/opt/vendor/libthirdparty.so", executable: nil) == .process)
    }
}
