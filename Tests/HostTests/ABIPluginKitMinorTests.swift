import Foundation
import Basics
import PluginProtocol
import Core
import Config
import Backends
import Lifecycle
import CLI
import PluginABI
import PluginKit
import Testing

/// PluginKit compiled against the next minor's header (a plugin author upgrading) still runs on a
/// v1.0 host: it accepts a host table of exactly the v1.0 size, reads nothing past it, and answers a
/// cancelled call the way the host's minor understands.
@Suite(.tags(.externalBuild),
       .enabled(if: PluginFixtures.hasSwift && PluginFixtures.hasCC, "swift or cc is not on PATH; the next-minor PluginKit package cannot be built"))
struct ABIPluginKitMinorTests {
    @Test(.timeLimit(.minutes(10)))
    func pluginKitBuiltAgainstTheNextMinorRunsOnAV1_0Host() throws {
        let tmp = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(tmp) }
        let package = tmp + "/FutureMinorPlugin"
        try FileManager.default.copyItem(atPath: ABIFixtures.repoRoot + "/Tests/Fixtures/FutureMinorPlugin", toPath: package)
        try? FileManager.default.removeItem(atPath: package + "/.build")
        let next = try ABIFixtures.writeNextMinorHeader(into: package + "/Sources/PluginABI")
        // PluginKit's own sources, unchanged: the thing under test.
        try FileManager.default.copyItem(atPath: ABIFixtures.repoRoot + "/Sources/PluginKit", toPath: package + "/Sources/PluginKit")
        try FileManager.default.copyItem(atPath: ABIFixtures.repoRoot + "/Sources/PluginProtocol", toPath: package + "/Sources/PluginProtocol")

        let scratch = tmp + "/scratch"
        try PluginFixtures.run(try #require(PluginFixtures.which("swift")),
                               ["build", "--package-path", package, "--scratch-path", scratch, "--product", "FuturePlugin"])
        let library = scratch + "/debug/libFuturePlugin.so"
        #expect(FileManager.default.fileExists(atPath: library))

        // A v1.0 host in C: its table is exactly SBX_HOST_API_V1_0_SIZE bytes, ending at a guard page.
        let host = try ABIFixtures.compileHarness(include: ABIFixtures.include, into: tmp, name: "host-v10")
        let environment = Self.environmentFindingTheSwiftRuntime()
        let run = try ABIFixtures.capture(host, [library, "--host-size", "v1_0", "--host-minor", "0"], environment: environment)
        #expect(!run.signalled && run.status == 0, "\(run)")
        #expect(run.value("entry") == "ok", "\(run)")
        let nextTableSize = Int(SBX_PLUGIN_V1_0_SIZE) + MemoryLayout<UnsafeRawPointer>.size
        #expect(run.value("table_size") == "\(nextTableSize) plugin_abi=1.\(next.minor) name=future version=1.1.0", "\(run)")
        #expect(run.value("log") == "1 future: created sbx-h1", "\(run)")
        // create called back for the clock and the log: both v1.0 fields, inside the guarded table.
        let create = try #require(run.value("create"), "\(run)")
        #expect(create.hasPrefix("0 "), "\(run)")
        let response = try JSONDecoder().decode(CreateResponse.self, from: Data(create.dropFirst(2).utf8))
        #expect(response.backendRef == "fut-sbx-h1" && response.info["created_at_ms"] == .number(1_700_000_000_123))
        #expect(run.value("destroy") == "0 {}", "\(run)")

        // A table smaller than v1.0 is refused.
        let short = try ABIFixtures.capture(host, [library, "--host-size", "short"], environment: environment)
        #expect(!short.signalled && short.value("entry") == "refused", "\(short)")

        // A cancelled call: SBX_UNAVAILABLE for a 1.0 host, SBX_CANCELLED for a host that knows it.
        let message = "The host cancelled the call, so the plugin stopped."
        for (minor, code) in [(0, SBX_UNAVAILABLE), (Int(SBX_CANCELLED_MIN_HOST_MINOR), SBX_CANCELLED)] {
            let cancelled = try ABIFixtures.capture(host, [library, "--host-size", "v1_0", "--host-minor", "\(minor)", "--cancel", "--op", "wait_cancel"],
                                                    environment: environment)
            #expect(cancelled.value("op") == "\(code.rawValue) \(message)", "\(cancelled)")
        }

        // And this host loads it too.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: library)
        let plugin = try PluginLoader.load(path: library, context: makeContext(clock: FakeClock(ms: 42_000)))
        #expect(plugin.name == "future" && plugin.abiMinor == next.minor)
        let backend = try plugin.makeBackend(name: "future", config: [:], callTimeout: 10)
        let created = try backend.create(ABIMinorVersionTests.createRequest, timeout: 10)
        #expect(created.backendRef == "fut-sbx-m1" && created.info["created_at_ms"] == .number(42_000))
        try backend.destroy(SandboxRef(sandboxId: "sbx-m1", backendRef: created.backendRef), timeout: 10)
    }

    /// The C harness is not a Swift program: point the dynamic linker at the toolchain's Swift
    /// runtime (next to the `swift` on PATH) in case the plugin's RUNPATH does not name it.
    static func environmentFindingTheSwiftRuntime() -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        if let swift = PluginFixtures.which("swift") {
            let real = (try? FileManager.default.destinationOfSymbolicLink(atPath: swift)).map {
                $0.hasPrefix("/") ? $0 : (swift as NSString).deletingLastPathComponent + "/" + $0
            } ?? swift
            let usr = ((real as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
            let runtime = usr + "/lib/swift/linux"
            environment["LD_LIBRARY_PATH"] = [runtime, environment["LD_LIBRARY_PATH"]].compactMap { $0 }.joined(separator: ":")
        }
        return environment
    }
}
