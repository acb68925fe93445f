import Foundation
import Testing

/// What a backend author (and the operator running their plugin) sees through the built binary:
/// bounded plugin messages, per-operation deadlines, plugin log lines, exit codes, the backend's info.
@Suite struct BackendAuthorTests {
    /// A runner on the TestPlugin as backend `fake`, with `backendYAML` (host-side keys) and
    /// `pluginYAML` (the plugin's config) added.
    func fake(backendYAML: String = "", pluginYAML: String = "") throws -> CLIRunner {
        var cli = try CLIRunner()
        try FileManager.default.createDirectory(atPath: cli.home + "/fake", withIntermediateDirectories: true)
        try cli.useConfig("""
            data_dir: @HOME@/data
            backends:
              fake:
                plugin: @PRODUCTS@/libSandboxerTestPlugin.so
            \(backendYAML)
                config:
                  state_dir: @HOME@/fake
            \(pluginYAML)
            profiles:
              default:
                backend: fake
                ttl: {default: 1h, max: 4h}
            """)
        return cli
    }

    /// Bytes the store takes on disk once its write-ahead log is folded in.
    func storeBytes(_ cli: CLIRunner) throws -> Int {
        let db = cli.home + "/data/sandboxer.db"
        if Machine.hasTool("sqlite3") {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["sqlite3", db, "PRAGMA wal_checkpoint(TRUNCATE);"]
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
        }
        return [db, db + "-wal"].reduce(0) { sum, path in
            sum + (((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0)
        }
    }

    @Test func aHundredMegabyteErrorPrintsAShortLineAndBarelyGrowsTheStore() throws {
        let cli = try fake(pluginYAML: "      huge_error: {create: 100000000}")
        // The first failed create makes the store; the second shows what one more costs.
        let first = try cli.run(["create"])
        #expect(first.status == 3, "\(first.stderr.prefix(300))")
        let before = try storeBytes(cli)
        let second = try cli.run(["create"])
        let after = try storeBytes(cli)
        #expect(second.status == 3)
        #expect(second.stderr.split(separator: "\n").count == 1)
        #expect(second.stderr.utf8.count < 5 * 1024, "\(second.stderr.utf8.count) bytes on stderr")
        #expect(second.stderr.contains("bytes cut)"))
        #expect(second.stderr.hasPrefix("sandboxer: Backend fake failed to create: huge: €€€"))
        #expect(after - before <= 16 * 1024, "the store grew by \(after - before) bytes")
        let failed = try cli.run(["list", "--state", "failed", "--json"]).array()
        #expect(failed.count == 2)
    }

    @Test func debugLinesShowWithVerboseAndCarryTheBackendName() throws {
        let cli = try fake()
        let id = try cli.run(["create"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let expected = "sandboxer: plugin fake: debug: look here (backend_ref=tp-\(id), sandbox_id=\(id))"
        let quiet = try cli.run(["exec", id, "--", "debug", "look here"])
        #expect(quiet.status == 0)
        #expect(!quiet.stderr.contains("look here"), "\(quiet.stderr)")
        let verbose = try cli.run(["exec", id, "--verbose", "--", "debug", "look here"])
        #expect(verbose.status == 0)
        #expect(verbose.stderr.contains(expected), "\(verbose.stderr)")
        let env = try cli.run(["exec", id, "--", "debug", "look here"], extraEnv: ["SANDBOXER_LOG": "debug"])
        #expect(env.stderr.contains(expected), "\(env.stderr)")
        // Warnings always show, with their backend.
        let warned = try cli.run(["exec", id, "--", "log", "heads up"])
        #expect(warned.stderr.contains("sandboxer: plugin fake: warning: heads up (backend_ref=tp-\(id))"), "\(warned.stderr)")
    }

    @Test func backendFailuresNeverExitWithTheUsageCode() throws {
        let refusing = try fake(pluginYAML: "      fail: {exec: invalid_request}")
        let id = try refusing.run(["create"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let refused = try refusing.run(["exec", id, "--", "true"])
        #expect(refused.status == 3, "\(refused.stderr)")
        #expect(refused.stderr.hasPrefix("sandboxer: Backend fake failed to exec: "), "\(refused.stderr)")
        let usage = try refusing.run(["exec", id])
        #expect(usage.status == 2)
        let busy = try fake(pluginYAML: "      fail: {exec: unavailable}")
        let other = try busy.run(["create"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let unavailable = try busy.run(["exec", other, "--", "true"])
        #expect(unavailable.status == 4, "\(unavailable.stderr)")
        #expect(unavailable.stderr.split(separator: "\n").count == 1)
        let help = try busy.run(["--help"])
        #expect(help.stdout.contains("3 a backend refused or failed, 4 a backend is unavailable"))
    }

    @Test func aPerOperationDeadlineEndsAHangingCreate() throws {
        // No ready FIFO: the plugin hangs until the host cancels the call at the 1 s deadline, then
        // spends 300 ms cleaning up before it notes the cancellation: the CLI's exit waits for that
        // (`CLI.waitForDetachedPluginWork`), so the note is there when the command has returned.
        let cli = try fake(backendYAML: "    timeouts: {create: 1s}", pluginYAML: "      hang: [create]\n      cancel_cleanup_ms: 300")
        let clock = ContinuousClock()
        let started = clock.now
        let r = try cli.run(["create"])
        let elapsed = clock.now - started
        #expect(r.status == 4, "\(r.stderr)")
        #expect(r.stderr.contains("did not finish within 1 s"), "\(r.stderr)")
        #expect(elapsed >= .seconds(1) && elapsed < .seconds(60), "\(elapsed)")
        let log = try String(contentsOfFile: cli.home + "/fake/cancelled.log", encoding: .utf8)
        #expect(log.hasPrefix("create sbx-"))
    }

    @Test func showPrintsTheBackendsInfo() throws {
        let cli = try fake()
        let id = try cli.run(["create"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let json = try cli.run(["show", id, "--json"]).object()
        let info = try #require(json["info"] as? [String: Any])
        let createdAt = try #require(info["created_at_ms"] as? Int)
        #expect(createdAt > 1_600_000_000_000)
        let table = try cli.run(["show", id])
        #expect(table.stdout.contains("created_at_ms=\(createdAt)"), "\(table.stdout)")
    }
}
