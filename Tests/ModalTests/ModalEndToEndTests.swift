import Foundation
import Glibc
import Testing

/// The issue's "Done means", through the built `sandboxer` binary on the stand-in.
@Suite(.enabled(if: StandIn.available, "needs the Modal stand-in's venv (python3-venv and PyPI once): \(StandIn.unavailableReason ?? "")"),
       .serialized)
struct ModalEndToEndTests {
    static let profiles = """
          default:
            backend: modal
            ttl: {default: 1h, max: 4h, idle_reap: 30m}
        """

    func running(_ standIn: StandIn) throws -> [[String: Any]] {
        (try standIn.state()["sandboxes"] as? [[String: Any]] ?? []).filter { $0["running"] as? Bool == true }
    }

    @Test func createExecExtendExpireDestroy() throws {
        let standIn = try StandIn()
        let cli = try SandboxerCLI(standIn: standIn, profiles: Self.profiles)
        let created = try cli.run(["create", "--json"])
        #expect(created.status == 0, "\(created.stderr)")
        let sandbox = try created.object()
        let id = try #require(sandbox["id"] as? String)
        let ref = try #require(sandbox["backend_ref"] as? String)
        // Modal cannot extend: the backstop is the profile's max (4 h from ready) plus the 60 s grace,
        // and the idle timeout is idle_reap plus grace.
        let record = try #require(try standIn.sandbox(ref))
        #expect(record["timeout_secs"] as? Int == 4 * 3600 + 60)
        #expect(record["idle_timeout_secs"] as? Int == 1800 + 60)
        #expect((record["tags"] as? [String: String])?["sandboxer.host"] == SandboxerCLI.hostId)
        #expect((record["tags"] as? [String: String])?["sandboxer.sandbox"] == id)

        let exec = try cli.run(["exec", id, "--", "sh", "-c", "echo out; echo err >&2; exit 7"])
        #expect(exec.status == 7)
        #expect(exec.stdout == "out\n")
        #expect(exec.stderr.contains("err"))
        let piped = try cli.run(["exec", "--stdin", id, "--", "tr", "a-z", "A-Z"], stdin: Data("hello modal\n".utf8))
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(piped.stdout == "HELLO MODAL\n")

        let before = try #require(sandbox["expires_at"] as? String)
        let extended = try cli.run(["extend-ttl", id, "--duration", "2h", "--json"])
        #expect(extended.status == 0, "\(extended.stderr)")
        let shown = try cli.run(["show", id, "--json"]).object()
        #expect(shown["expires_at"] as? String != before)
        #expect(!extended.stderr.contains("warning"), "no set_timeout is declared, so nothing is pushed: \(extended.stderr)")
        #expect(try standIn.sandbox(ref)?["timeout_secs"] as? Int == 4 * 3600 + 60, "the Modal backstop stays at the profile max")
        // explain says so: the backend's deadline is fixed at ready_at + max + grace, and extend-ttl moves only ours.
        let explained = try cli.run(["explain", id, "--json"]).object()
        let backstop = explained["backstop"] as? [String: Any]
        #expect(backstop?["follows_extensions"] as? Bool == false)
        let cap = (explained["cap"] as? [String: Any])?["latest_expires_at"] as? String
        let fixed = backstop?["fixed_at"] as? String
        if let cap, let fixed, let capDate = ISO8601DateFormatter().date(from: cap), let fixedDate = ISO8601DateFormatter().date(from: fixed) {
            #expect(fixedDate.timeIntervalSince(capDate) == 60, "fixed at the latest deadline plus the grace")
        } else {
            Issue.record("explain has no cap or backstop time: \(explained)")
        }
        let table = try cli.run(["explain", id])
        #expect(table.stdout.contains("cannot extend"), "\(table.stdout)")

        let expire = try cli.run(["expire", "--apply", "--json"], extraEnv: ["SANDBOXER_CLOCK_OFFSET": "5h"])
        #expect(expire.status == 0, "\(expire.stderr)")
        #expect(try standIn.sandbox(ref)?["running"] as? Bool == false)
        let after = try cli.run(["show", id, "--json"]).object()
        #expect(after["state"] as? String == "destroyed")
        let again = try cli.run(["destroy", id])
        #expect(again.status == 0 || again.stderr.split(separator: "\n").count == 1)
    }

    @Test func snapshotThenCreateFromSnapshot() throws {
        let standIn = try StandIn()
        let cli = try SandboxerCLI(standIn: standIn, profiles: Self.profiles)
        let id = try #require(try cli.run(["create", "--json"]).object()["id"] as? String)
        #expect(try cli.run(["exec", id, "--", "sh", "-c", "echo from-before > note.txt"]).status == 0)
        let snap = try cli.run(["snapshot", id, "--json"])
        #expect(snap.status == 0, "\(snap.stderr)")
        let snapID = try #require(try snap.object()["id"] as? String)
        #expect(try cli.run(["destroy", id]).status == 0)
        let restored = try cli.run(["create", "--from-snapshot", snapID, "--json"])
        #expect(restored.status == 0, "\(restored.stderr)")
        let newID = try #require(try restored.object()["id"] as? String)
        let read = try cli.run(["exec", newID, "--", "cat", "note.txt"])
        #expect(read.stdout == "from-before\n")
        #expect(try cli.run(["destroy", newID]).status == 0)
    }

    @Test func reapStaleTouchesOnlySandboxesTaggedWithOurHost() throws {
        let standIn = try StandIn()
        let cli = try SandboxerCLI(standIn: standIn, profiles: Self.profiles)
        let ours = try OfficialClient.createSandbox(standIn: standIn, app: "sandboxer",
                                                    tags: ["sandboxer.host": SandboxerCLI.hostId, "sandboxer.sandbox": "sbx-00000000000000aa",
                                                           "sandboxer.profile": "default"])
        let untagged = try OfficialClient.createSandbox(standIn: standIn, app: "sandboxer", tags: [:])
        let otherHost = try OfficialClient.createSandbox(standIn: standIn, app: "sandboxer", tags: ["sandboxer.host": "host-someone-else"])
        let plan = try cli.run(["reap-stale", "--json"]).object()
        let orphans = try #require(plan["orphans"] as? [[String: Any]])
        #expect(orphans.compactMap { $0["backend_ref"] as? String } == [ours])
        let applied = try cli.run(["reap-stale", "--apply", "--json"])
        #expect(applied.status == 0, "\(applied.stderr)")
        let live = Set(try running(standIn).compactMap { $0["id"] as? String })
        #expect(!live.contains(ours))
        #expect(live.contains(untagged) && live.contains(otherHost))
    }

    @Test func aSandboxTheStandInEndedBecomesFailedBackendVanished() throws {
        let standIn = try StandIn()
        let cli = try SandboxerCLI(standIn: standIn, profiles: Self.profiles)
        let sandbox = try cli.run(["create", "--json"]).object()
        let id = try #require(sandbox["id"] as? String)
        let ref = try #require(sandbox["backend_ref"] as? String)
        // Terminate it behind the host's back, as Modal's own timeout would.
        let pid = try #require(try standIn.sandbox(ref)?["entrypoint_pid"] as? Int32)
        kill(pid, SIGKILL)
        var ended = false
        for _ in 0..<2000 where !ended { ended = try standIn.sandbox(ref)?["running"] as? Bool == false }
        try #require(ended)
        let applied = try cli.run(["reap-stale", "--apply", "--json"])
        #expect(applied.status == 0, "\(applied.stderr)")
        let shown = try cli.run(["show", id, "--json"]).object()
        #expect(shown["state"] as? String == "failed")
        #expect(shown["reason"] as? String == "backend_vanished")
    }

    @Test func killNineMidCreateIsReconciled() throws {
        let standIn = try StandIn()
        let cli = try SandboxerCLI(standIn: standIn, profiles: Self.profiles)
        // The sandbox is made, then the CLI waits on a slow task lookup: kill it there.
        try standIn.fault(["method": "SandboxGetTaskId", "action": "delay", "delay_ms": 20_000, "count": 1])
        let (process, _, _) = try cli.start(["create"])
        var made = false
        for _ in 0..<5000 where !made { made = try !running(standIn).isEmpty }
        try #require(made)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try standIn.clearFaults()
        let list = try cli.run(["list", "--all", "--json"])
        #expect(list.status == 0, "\(list.stderr)")
        let rows = try list.array()
        #expect(rows.first?["state"] as? String == "failed")
        #expect(try running(standIn).isEmpty, "the interrupted create leaked a Modal sandbox")
    }

    @Test func faultsGiveOneClearLine() throws {
        let standIn = try StandIn()
        let cli = try SandboxerCLI(standIn: standIn, profiles: Self.profiles)
        try standIn.fault(["method": "SandboxCreate", "action": "resource_exhausted", "count": 1, "retry_after_secs": 1])
        let quota = try cli.run(["create"])
        #expect(quota.status == 3)  // a backend refused (quota)
        #expect(quota.stderr.contains("RESOURCE_EXHAUSTED"))
        #expect(quota.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count == 1, "\(quota.stderr)")

        try standIn.fault(["method": "SandboxCreate", "action": "unavailable", "count": 1])
        let down = try cli.run(["create"])
        #expect(down.status == 4)  // a backend unavailable
        #expect(down.stderr.contains("unavailable") || down.stderr.contains("UNAVAILABLE"))
        #expect(try running(standIn).isEmpty)

        let wrong = try SandboxerCLI(standIn: standIn, profiles: Self.profiles, secret: "as-bad-secret-91c2")
        let refused = try wrong.run(["create"])
        #expect(refused.status != 0)   // invalid_request: the host reports a config error (exit 2)
        #expect(refused.stderr.contains(StandIn.tokenID))
        #expect(!refused.stderr.contains("as-bad-secret-91c2"))
        #expect(refused.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count == 1, "\(refused.stderr)")
    }
}
