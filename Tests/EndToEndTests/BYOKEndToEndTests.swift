import BYOKTestHosts
import Foundation
import Testing

/// BYOK through the built binary: three sshd hosts in network namespaces, the node helper pushed to
/// them over the ControlMasters (the built sandboxer-node, or its Python stand-in until it lands).
@Suite(.serialized, .enabled(if: BYOKSetup.unavailableReason == nil, "\(BYOKSetup.unavailableReason ?? "")"))
struct BYOKEndToEndTests {
    @Test func lifecycleOnEveryHost() throws {
        let hosts = try SSHHosts(count: 3)
        defer { hosts.close() }
        let cli = try BYOKSetup.runner(hosts, capacity: 1)
        // Capacity 1 each: three creates land on three hosts (least loaded first), the fourth is refused.
        var made: [(id: String, host: String)] = []
        for _ in 0..<3 { made.append(try BYOKSetup.create(cli)) }
        #expect(Set(made.map(\.host)) == ["h1", "h2", "h3"])
        let full = try cli.run(["create", "--json"])
        #expect(full.status != 0)
        #expect(full.stderr.contains("h1 full (1/1)") && full.stderr.contains("h3 full (1/1)"), "\(full.stderr)")

        for s in made {
            let hello = try cli.run(["exec", s.id, "--", "sh", "-c", "echo out; echo err >&2"])
            #expect(hello.status == 0 && hello.stdout == "out\n" && hello.stderr.contains("err"), "\(hello)")
            // A command's own 255 is the command's, not a transport failure.
            #expect(try cli.run(["exec", s.id, "--", "sh", "-c", "exit 255"]).status == 255)
            #expect(try cli.run(["exec", s.id, "--", "sh", "-c", "exit 7"]).status == 7)
        }
        let id = made[0].id
        let piped = try cli.run(["exec", id, "--stdin", "--", "sh", "-c", "wc -c"], stdin: Data(repeating: 0x61, count: 300_000))
        #expect(piped.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "300000")
        let big = try cli.run(["exec", id, "--", "sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' x"])
        #expect(big.status == 0 && big.stdout.utf8.count == 3_000_000)
        let slow = try cli.run(["exec", id, "--timeout", "1s", "--", "sh", "-c", "exec sleep 600"])
        #expect(slow.status != 0)

        // Extend, then expire --apply with the clock moved past the deadline: destroyed on its host.
        #expect(try cli.run(["extend-ttl", id, "--duration", "1h"]).status == 0)
        let expired = try cli.run(["expire", "--apply", "--json"], extraEnv: ["SANDBOXER_CLOCK_OFFSET": "3h"])
        #expect(expired.status == 0, "\(expired.stderr)")
        for s in made {
            #expect(try cli.run(["show", s.id, "--json"]).object()["state"] as? String == "destroyed")
        }
        let stale = try cli.run(["reap-stale", "--json"])
        #expect(stale.status == 0, "\(stale.stderr)")
        #expect(try (stale.object()["orphans"] as? [Any])?.isEmpty == true)
    }

    @Test func destroySnapshotAndRestoreOnAnotherHost() throws {
        let hosts = try SSHHosts(count: 2)
        defer { hosts.close() }
        let cli = try BYOKSetup.runner(hosts, labels: ["h1": ["zone": "a"], "h2": ["zone": "b"]], profiles: """
              a:
                backend: byok
                placement: {zone: a}
              b:
                backend: byok
                placement: {zone: b}
              c:
                backend: byok
                placement: {zone: c}
            """)
        let first = try BYOKSetup.create(cli, ["--profile", "a"])
        #expect(first.host == "h1")
        #expect(try cli.run(["exec", first.id, "--", "sh", "-c", "echo v1 > state.txt"]).status == 0)
        let snap = try cli.run(["snapshot", first.id, "--name", "v1", "--json"])
        try #require(snap.status == 0, "snapshot failed: \(snap.stderr)")
        // The snapshot came back to our data dir and is pushed to whichever host restores it.
        let copy = try BYOKSetup.create(cli, ["--profile", "b", "--from-snapshot", "v1"])
        #expect(copy.host == "h2")
        #expect(try cli.run(["exec", copy.id, "--", "cat", "state.txt"]).stdout == "v1\n")
        let nowhere = try cli.run(["create", "--profile", "c"])
        #expect(nowhere.status != 0 && nowhere.stderr.contains("zone=c"), "\(nowhere.stderr)")
        for s in [first.id, copy.id] {
            #expect(try cli.run(["destroy", s]).status == 0)
            #expect(try cli.run(["destroy", s]).status == 0)  // idempotent
        }
        #expect(!FileManager.default.fileExists(atPath: hosts.hosts[0].nodeDir + "/sandboxes/" + first.id))
    }

    @Test func aPartitionedHostIsUnreachableNotGhostsAndReconcilesWhenBack() throws {
        let hosts = try SSHHosts(count: 3)
        defer { hosts.close() }
        let cli = try BYOKSetup.runner(hosts, labels: ["h1": ["pin": "yes"]], profiles: """
              default:
                backend: byok
              pinned:
                backend: byok
                placement: {pin: "yes"}
            """)
        let onH1 = try BYOKSetup.create(cli, ["--profile", "pinned"])
        #expect(onH1.host == "h1")
        try hosts.setLink(hosts.hosts[0], up: false)
        // Each CLI command is a fresh process: it finds h1 unreachable within its connect timeout.
        let other = try BYOKSetup.create(cli)
        #expect(other.host != "h1")
        let stale = try cli.run(["reap-stale", "--apply", "--json"])
        let report = try stale.object()
        #expect((report["ghosts"] as? [Any])?.isEmpty == true, "\(stale.stdout)")
        let unreachable = try #require(report["unreachable"] as? [[String: Any]])
        #expect(unreachable.first?["scope"] as? String == "h1")
        #expect(unreachable.first?["sandboxes"] as? [String] == [onH1.id])
        #expect(try cli.run(["show", onH1.id, "--json"]).object()["state"] as? String == "ready")
        let pinned = try cli.run(["create", "--profile", "pinned"])
        #expect(pinned.status == 4, "\(pinned.stderr)")  // unavailable, naming the host
        #expect(pinned.stderr.contains("h1 unreachable"), "\(pinned.stderr)")

        try hosts.setLink(hosts.hosts[0], up: true)
        let back = try cli.run(["reap-stale", "--json"])
        #expect(back.status == 0, "\(back.stderr)")
        let clean = try back.object()
        #expect((clean["unreachable"] as? [Any])?.isEmpty == true && (clean["ghosts"] as? [Any])?.isEmpty == true, "\(back.stdout)")
        #expect(try cli.run(["exec", onH1.id, "--", "true"]).status == 0)
        for s in [onH1.id, other.id] { #expect(try cli.run(["destroy", s]).status == 0) }
    }

    @Test func changedAndUnknownHostKeysAreRefused() throws {
        let hosts = try SSHHosts(count: 2)
        defer { hosts.close() }
        let cli = try BYOKSetup.runner(hosts, hostKeys: ["h1": hosts.hosts[1].hostKey, "h2": try hosts.otherHostKey()])
        let r = try cli.run(["create", "--json"])
        #expect(r.status == 4, "\(r.stderr)")
        #expect(r.stderr.contains("h1 unreachable") && r.stderr.contains("h2 unreachable"), "\(r.stderr)")
        #expect(r.stderr.contains("does not match the pinned host_key"), "\(r.stderr)")
    }

    @Test func orphansOnAHostAreFoundAndReaped() throws {
        let hosts = try SSHHosts(count: 1)
        defer { hosts.close() }
        let cli = try BYOKSetup.runner(hosts)
        let s = try BYOKSetup.create(cli)
        // Another data dir (a new store) with the same hosts: the sandbox is not its own (other host id).
        let stranger = try BYOKSetup.runner(hosts)
        let seen = try stranger.run(["reap-stale", "--json"]).object()
        #expect((seen["orphans"] as? [Any])?.isEmpty == true)
        #expect((seen["foreign"] as? [[String: Any]])?.first?["sandbox_id"] as? String == s.id)
        // Our own store forgets it: then it is our orphan, and --apply destroys it on the host.
        let db = cli.home + "/data/sandboxer.db"
        if FileManager.default.fileExists(atPath: db), Machine.hasTool("sqlite3") {
            _ = try SSHHosts.sh(["/usr/bin/sqlite3", db, "PRAGMA foreign_keys=OFF; DELETE FROM sandboxes WHERE id = '\(s.id)';"])
            let reaped = try cli.run(["reap-stale", "--apply", "--json"]).object()
            #expect((reaped["orphans"] as? [[String: Any]])?.first?["outcome"] as? String == "destroyed", "\(reaped)")
            #expect(!FileManager.default.fileExists(atPath: hosts.hosts[0].nodeDir + "/sandboxes/" + s.id))
        } else {
            #expect(try cli.run(["destroy", s.id]).status == 0)
        }
    }
}
