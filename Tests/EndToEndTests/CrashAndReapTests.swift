import Foundation
import Testing

/// Crash recovery and stale-resource reaping through the binary, on the file-backed test plugin.
@Suite struct CrashAndReapTests {
    func fake(extra: String = "") throws -> CLIRunner {
        try CLIRunner.onFakeBackend(profiles: """
              default:
                backend: fake
                ttl: {default: 1h, max: 4h}
            """, extra: extra)
    }

    /// Resource files the fake backend holds.
    func resources(_ cli: CLIRunner) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: cli.home + "/fake").filter { $0.hasSuffix(".json") }
    }

    @Test func killNineDuringCreateIsReconciledByTheNextCommand() throws {
        var cli = try fake()
        let fifo = cli.home + "/ready.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        // A second config whose plugin hangs inside create after making the resource.
        try cli.useConfig("""
        data_dir: @HOME@/data
        backends:
          fake:
            plugin: @PRODUCTS@/libSandboxerTestPlugin.so
            config:
              state_dir: @HOME@/fake
              hang: [create]
              ready_fifo: \(fifo)
        profiles:
          default:
            backend: fake
            ttl: {default: 1h, max: 4h}
        """, name: "hanging.yaml")
        let running = try cli.start(["create"])
        // Ready handshake: the plugin writes the sandbox id into the FIFO once it is inside create.
        let reader = try #require(FileHandle(forReadingAtPath: fifo))
        let id = String(decoding: reader.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.hasPrefix("sbx-"))
        kill(running.process.processIdentifier, SIGKILL)
        running.process.waitUntilExit()
        #expect(running.process.terminationReason == .uncaughtSignal)

        cli.environment["SANDBOXER_CONFIG"] = cli.home + "/sandboxer.yaml"
        let list = try cli.run(["list", "--all", "--json"])
        #expect(list.status == 0, "\(list.stderr)")
        let rows = try list.array()
        #expect(rows.count == 1)
        #expect(rows.first?["id"] as? String == id)
        #expect(rows.first?["state"] as? String == "failed")
        #expect(rows.first?["reason"] as? String == "failed")
        #expect(try resources(cli).isEmpty, "the interrupted create leaked a resource")
    }

    @Test func reapStaleFindsOrphansAndGhosts() throws {
        let cli = try fake()
        let keep = try #require(try cli.run(["create", "--json"]).object()["id"] as? String)
        let ghost = try #require(try cli.run(["create", "--json"]).object()["id"] as? String)
        let orphan = try #require(try cli.run(["create", "--json"]).object()["id"] as? String)
        // The backend loses one sandbox behind the store's back...
        for file in try resources(cli) where try String(contentsOfFile: cli.home + "/fake/" + file, encoding: .utf8).contains(ghost) {
            try FileManager.default.removeItem(atPath: cli.home + "/fake/" + file)
        }
        // ...and the store forgets another (as if its row were lost).
        let db = cli.home + "/data/sandboxer.db"
        try #require(Machine.hasTool("sqlite3"), "sqlite3 is needed to edit the store behind the CLI's back")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["sqlite3", db, "DELETE FROM sandboxes WHERE id = '\(orphan)';"]
        try p.run(); p.waitUntilExit()
        #expect(p.terminationStatus == 0)

        let plan = try cli.run(["reap-stale", "--json"]).object()
        let orphans = try #require(plan["orphans"] as? [[String: Any]])
        #expect(orphans.map { $0["sandbox_id"] as? String } == [orphan])
        let ghosts = try #require(plan["ghosts"] as? [[String: Any]])
        #expect(ghosts.map { $0["id"] as? String } == [ghost])
        #expect(try resources(cli).count == 2)

        let applied = try cli.run(["reap-stale", "--apply", "--json"])
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(try resources(cli).count == 1)
        let g = try cli.run(["show", ghost, "--json"]).object()
        #expect(g["state"] as? String == "failed")
        #expect(g["reason"] as? String == "backend_vanished")
        #expect(try cli.run(["show", keep, "--json"]).object()["state"] as? String == "ready")
        let events = try cli.run(["events", orphan, "--json"]).array()
        #expect(events.last?["type"] as? String == "orphan_reaped")
        // Nothing left to do.
        let again = try cli.run(["reap-stale", "--json"]).object()
        #expect((again["orphans"] as? [Any])?.isEmpty == true)
        #expect((again["ghosts"] as? [Any])?.isEmpty == true)
    }

    @Test func killNineDuringDestroyIsFinishedByTheNextCommandAtOnce() throws {
        var cli = try fake()
        let id = try #require(try cli.run(["create", "--json"]).object()["id"] as? String)
        #expect(try resources(cli).count == 1)
        let fifo = cli.home + "/ready.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        // A second config whose plugin hangs inside destroy, before removing the resource.
        try cli.useConfig("""
        data_dir: @HOME@/data
        backends:
          fake:
            plugin: @PRODUCTS@/libSandboxerTestPlugin.so
            config:
              state_dir: @HOME@/fake
              hang: [destroy]
              ready_fifo: \(fifo)
        profiles:
          default:
            backend: fake
            ttl: {default: 1h, max: 4h}
        """, name: "hanging.yaml")
        let running = try cli.start(["destroy", id])
        // Ready handshake: the row is destroying (intent written) once the plugin is inside destroy.
        let reader = try #require(FileHandle(forReadingAtPath: fifo))
        #expect(String(decoding: reader.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == id)
        kill(running.process.processIdentifier, SIGKILL)
        running.process.waitUntilExit()
        #expect(running.process.terminationReason == .uncaughtSignal)

        // The very next command (well within the old 10 s grace) finishes the destroy: its owner is gone.
        cli.environment["SANDBOXER_CONFIG"] = cli.home + "/sandboxer.yaml"
        let shown = try cli.run(["show", id, "--json"])
        #expect(shown.status == 0, "\(shown.stderr)")
        let row = try shown.object()
        #expect(row["state"] as? String == "destroyed")
        #expect(row["reason"] as? String == "manual")
        #expect(try resources(cli).isEmpty, "the interrupted destroy leaked a resource")
        let plan = try cli.run(["reap-stale", "--json"]).object()
        #expect((plan["stuck"] as? [Any])?.isEmpty == true)
    }
}
