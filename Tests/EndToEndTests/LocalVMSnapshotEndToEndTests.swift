import Foundation
import Testing

/// Snapshots, recreate and `on_expire: snapshot` through the built binary on real LocalVM sandboxes.
@Suite(.serialized, .enabled(if: Machine.isRoot && Machine.hasBusybox, "needs root and busybox-static (apt-get install busybox-static)"))
struct LocalVMSnapshotEndToEndTests {
    /// A network pool of its own per config (before, the suite leased from the default pool, which
    /// other suites' data dirs may own).
    static var config: String { CLIRunner.localVMConfigHead() + """
        profiles:
          default:
            backend: localvm
            resources: {memory: 256M, pids: 256}
            ttl: {default: 1h, max: 24h}
          keeper:
            backend: localvm
            resources: {memory: 256M, pids: 256}
            ttl: {default: 1h, max: 24h}
            on_expire: snapshot
        """
    }

    let nothing = LocalVMEndToEndTests.Traces(processes: [], mounts: [], cgroups: [], directories: [])

    func read(_ cli: CLIRunner, _ id: String, _ path: String = "/work/file") throws -> String {
        let r = try cli.run(["exec", id, "--", "cat", path])
        return r.status == 0 ? r.stdout : "exit \(r.status): \(r.stderr)"
    }

    func write(_ cli: CLIRunner, _ id: String, _ text: String, _ path: String = "/work/file") throws {
        let r = try cli.run(["exec", id, "--", "sh", "-c", "mkdir -p /work && echo \(text) > \(path)"])
        try #require(r.status == 0, "write failed: \(r.stderr)")
    }

    @Test func snapshotRecreateAndASecondSandboxFromTheSameSnapshot() throws {
        var cli = try CLIRunner()
        try cli.useConfig(Self.config)
        let created = try cli.run(["create", "--json"])
        try #require(created.status == 0, "create failed: \(created.stderr)")
        let id = try #require(try created.object()["id"] as? String)
        try write(cli, id, "v1")

        let snap = try cli.run(["snapshot", id, "--name", "v1", "--json"])
        try #require(snap.status == 0, "snapshot failed: \(snap.stderr)")
        let snapId = try #require(try snap.object()["id"] as? String)
        #expect(try snap.object()["state"] as? String == "ready")
        #expect((try snap.object()["size_bytes"] as? Int ?? 0) > 0)

        // The original moves on; recreating from the snapshot brings v1 back, on the same id and deadline.
        try write(cli, id, "v2")
        let before = try cli.run(["show", id, "--json"]).object()
        let recreated = try cli.run(["recreate", id, "--from-snapshot", "v1", "--json"])
        try #require(recreated.status == 0, "recreate failed: \(recreated.stderr)")
        let after = try recreated.object()
        #expect(after["id"] as? String == id)
        #expect(after["ready_at"] as? String == before["ready_at"] as? String)
        #expect(after["expires_at"] as? String == before["expires_at"] as? String)
        #expect(after["source_snapshot"] as? String == snapId)
        #expect(try read(cli, id) == "v1\n")
        #expect(try cli.run(["exec", id, "--", "hostname"]).stdout == id + "\n")

        // A second sandbox from the same snapshot has the file too; writes there leave the first alone.
        let copy = try cli.run(["create", "--from-snapshot", snapId, "--json"])
        try #require(copy.status == 0, "create --from-snapshot failed: \(copy.stderr)")
        let copyId = try #require(try copy.object()["id"] as? String)
        #expect(try read(cli, copyId) == "v1\n")
        try write(cli, copyId, "copy")
        try write(cli, id, "mine", "/work/other")
        #expect(try read(cli, id) == "v1\n")
        #expect(try read(cli, copyId, "/work/other").hasPrefix("exit 1"))

        let events = try cli.run(["events", id, "--json"]).array().compactMap { $0["type"] as? String }
        #expect(events == ["created", "ready", "snapshot_created", "recreating", "recreated"])

        // Destroying both leaves no trace; the snapshot outlives them until it is removed.
        let traces = LocalVMEndToEndTests()
        for s in [id, copyId] {
            #expect(try cli.run(["destroy", s]).status == 0)
            #expect(traces.traces(of: s, home: cli.home) == nothing)
        }
        let snapDir = cli.home + "/data/backends/localvm/snapshots"
        let kept = (try? FileManager.default.contentsOfDirectory(atPath: snapDir)) ?? []
        #expect(kept.contains { $0.hasPrefix(snapId) }, "the snapshot's archive is gone with its sandbox: \(kept)")
        let removed = try cli.run(["snapshot-rm", "v1", "--json"])
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: snapDir)) ?? []).filter { $0.hasPrefix(snapId) } == [])
    }

    @Test func onExpireSnapshotLeavesARestorableSnapshot() throws {
        var cli = try CLIRunner()
        try cli.useConfig(Self.config)
        let id = try #require(try cli.run(["create", "--profile", "keeper", "--json"]).object()["id"] as? String)
        try write(cli, id, "unsaved-work")

        let later = ["SANDBOXER_CLOCK_OFFSET": "2h"]
        let plan = try cli.run(["expire"], extraEnv: later)
        #expect(plan.stdout.contains("expire, snapshot, destroy"), "\(plan.stdout)")
        let swept = try cli.run(["expire", "--apply", "--json"], extraEnv: later)
        #expect(swept.status == 0, "\(swept.stderr)")
        let items = try #require(try swept.object()["items"] as? [[String: Any]])
        #expect(items.count == 1)
        let snapId = try #require(items.first?["snapshot_id"] as? String)
        #expect(items.first?["outcome"] as? String == "destroyed")
        #expect(LocalVMEndToEndTests().traces(of: id, home: cli.home) == nothing)

        let destroyed = try cli.run(["events", id, "--json"]).array().last
        #expect(destroyed?["type"] as? String == "destroyed")
        #expect((destroyed?["data"] as? [String: Any])?["snapshot_id"] as? String == snapId)

        let restored = try cli.run(["create", "--from-snapshot", snapId, "--json"], extraEnv: later)
        try #require(restored.status == 0, "restore failed: \(restored.stderr)")
        let rid = try #require(try restored.object()["id"] as? String)
        #expect(try restored.object()["profile"] as? String == "keeper")
        #expect(try read(cli, rid) == "unsaved-work\n")
        #expect(try cli.run(["destroy", rid]).status == 0)
    }
}
