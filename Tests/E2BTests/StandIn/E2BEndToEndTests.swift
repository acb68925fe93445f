import Foundation
import Glibc
import Testing

/// The built `sandboxer` binary with profiles on the e2b backend, against the stand-in: what the
/// issue's "Done means" lists, each through the CLI a user runs.
@Suite(.serialized, .enabled(if: StandIn.available && SandboxerCLI.binary != nil,
                             "needs python3 for the E2B stand-in and the built sandboxer binary (swift build --build-tests)"))
struct E2BEndToEndTests {
    func events(_ cli: SandboxerCLI, _ id: String) throws -> [String] {
        try cli.run(["events", id, "--json"]).array().compactMap { $0["type"] as? String }
    }

    @Test func createExecExtendExpireDestroy() throws {
        let standIn = try StandIn()
        let cli = try SandboxerCLI(standIn: standIn)
        let (id, ref) = try cli.create()
        let sandbox = try #require(try standIn.sandbox(ref))
        // E2B's deadline is the host's TTL plus the backstop grace.
        #expect(sandbox["timeout"] as? Int == 3600 + 60)
        let metadata = sandbox["metadata"] as? [String: String] ?? [:]
        #expect(metadata["sandboxer.host"] == cli.hostId && metadata["sandboxer.sandbox"] == id && metadata["sandboxer.profile"] == "default")

        let uname = try cli.run(["exec", id, "--", "uname"])
        #expect(uname.status == 0 && uname.stdout == "Linux\n", "\(uname.stderr)")
        let seven = try cli.run(["exec", id, "--", "sh", "-c", "echo oops >&2; exit 7"])
        #expect(seven.status == 7)
        #expect(seven.stderr == "oops\n")
        let piped = try cli.run(["exec", "--stdin", id, "--", "tr", "a-z", "A-Z"], stdin: Data("through stdin\n".utf8))
        #expect(piped.stdout == "THROUGH STDIN\n", "\(piped.stderr)")

        // extend-ttl pushes the whole remaining time (plus grace) to E2B: its deadline moves.
        let before = try #require(try standIn.sandbox(ref)?["secondsLeft"] as? Double)
        let ext = try cli.run(["extend-ttl", id, "--duration", "2h", "--json"])
        #expect(ext.status == 0, "\(ext.stderr)")
        let after = try #require(try standIn.sandbox(ref)?["secondsLeft"] as? Double)
        #expect(after > before + 7000 && after <= 3 * 3600 + 60, "E2B's deadline did not move: \(before) → \(after)")

        // Four hours on (the profile's max), expire --apply destroys it on E2B.
        let later = ["SANDBOXER_CLOCK_OFFSET": "4h"]
        let plan = try cli.run(["expire", "--apply", "--json"], extraEnv: later)
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(try standIn.sandbox(ref) == nil)
        let gone = try #require((try standIn.state()["gone"] as? [[String: Any]])?.first { $0["sandboxID"] as? String == ref })
        #expect(gone["reason"] as? String == "killed")
        let shown = try cli.run(["show", id, "--json"]).object()
        #expect(shown["state"] as? String == "destroyed")
        // destroy is idempotent.
        #expect(try cli.run(["destroy", id], extraEnv: later).status == 0)
        let history = try events(cli, id)
        #expect(history == ["created", "ready", "ttl_extended", "expired", "destroying", "destroyed"], "\(history)")
        let explain = try cli.run(["explain", id], extraEnv: later)
        #expect(explain.status == 0 && explain.stdout.contains("ttl"), "\(explain.stdout)")
    }

    @Test func snapshotThenCreateFromSnapshot() throws {
        let standIn = try StandIn()
        let cli = try SandboxerCLI(standIn: standIn)
        let (id, _) = try cli.create()
        #expect(try cli.run(["exec", id, "--", "sh", "-c", "echo v1 > state.txt"]).status == 0)
        let snap = try cli.run(["snapshot", id, "--name", "v1", "--json"])
        try #require(snap.status == 0, "snapshot failed: \(snap.stderr)")
        let snapId = try #require(try snap.object()["id"] as? String)
        #expect(try snap.object()["state"] as? String == "ready")

        let copy = try cli.run(["create", "--from-snapshot", "v1", "--json"])
        try #require(copy.status == 0, "create --from-snapshot failed: \(copy.stderr)")
        let copyId = try #require(try copy.object()["id"] as? String)
        #expect(try cli.run(["exec", copyId, "--", "cat", "state.txt"]).stdout == "v1\n")
        #expect(try cli.run(["show", copyId, "--json"]).object()["source_snapshot"] as? String == snapId)
        #expect(try events(cli, id) == ["created", "ready", "snapshot_created"])

        for s in [id, copyId] { #expect(try cli.run(["destroy", s]).status == 0) }
        #expect(try standIn.live().isEmpty)
        let rm = try cli.run(["snapshot-rm", snapId])
        #expect(rm.status == 0, "\(rm.stderr)")
        #expect((try standIn.state()["snapshots"] as? [Any])?.isEmpty == true)
    }

    @Test func theBackstopKillsAtThePushedDeadlineAndTheHostNotices() throws {
        let standIn = try StandIn()
        // A plan capped at 2 s: E2B's own timeout fires while the host is not running.
        let cli = try SandboxerCLI(standIn: standIn, maxTimeout: "2s")
        let (id, ref) = try cli.create()
        #expect(try standIn.sandbox(ref)?["timeout"] as? Int == 2)
        let gone = try #require(try standIn.waitGone(ref), "the stand-in did not kill the sandbox at its deadline")
        #expect(gone["reason"] as? String == "timeout")

        let exec = try cli.run(["exec", id, "--", "true"])
        #expect(exec.status == 1)
        #expect(exec.stderr.split(separator: "\n").count == 1, "\(exec.stderr)")
        let reap = try cli.run(["reap-stale", "--apply", "--json"])
        #expect(reap.status == 0, "\(reap.stderr)")
        let shown = try cli.run(["show", id, "--json"]).object()
        #expect(shown["state"] as? String == "failed")
        #expect(shown["reason"] as? String == "backend_vanished")
    }

    @Test func reapStaleDestroysOnlyWhatCarriesOurHostLabel() throws {
        let standIn = try StandIn()
        let cli = try SandboxerCLI(standIn: standIn)
        let (kept, keptRef) = try cli.create()
        // Made with the API directly (as the SDK does), one with our host label and one without.
        let ours = try standIn.createDirect(metadata: ["sandboxer.host": cli.hostId, "sandboxer.sandbox": "sbx-00000000deadbeef"])
        let theirs = try standIn.createDirect(metadata: ["owner": "someone else"])
        let other = try standIn.createDirect(metadata: ["sandboxer.host": "another-host"])

        let plan = try cli.run(["reap-stale", "--json"]).object()
        #expect((plan["orphans"] as? [[String: Any]])?.compactMap { $0["backend_ref"] as? String } == [ours])
        #expect(try standIn.sandbox(ours) != nil, "the dry run touched something")
        let applied = try cli.run(["reap-stale", "--apply", "--json"])
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(try standIn.sandbox(ours) == nil)
        for untouched in [theirs, other, keptRef] { #expect(try standIn.sandbox(untouched) != nil) }
        #expect(try cli.run(["show", kept, "--json"]).object()["state"] as? String == "ready")
    }

    @Test func killNineMidCreateIsReconciledThroughInventory() throws {
        let standIn = try StandIn()
        let cli = try SandboxerCLI(standIn: standIn)
        try standIn.fault(["action": "delay", "delayMs": 1500, "path": "^/v2/sandboxes$", "method": "POST"])
        let running = try cli.start(["create", "--json"])
        // Handshake: the create request reached E2B.
        #expect(try standIn.until { (($0["calls"] as? [String: Any])?["POST /v2/sandboxes"] as? Int ?? 0) >= 1 })
        kill(running.processIdentifier, SIGKILL)
        running.waitUntilExit()
        #expect(running.terminationReason == .uncaughtSignal)
        // E2B finishes the create the dead CLI asked for.
        #expect(try standIn.until { ($0["sandboxes"] as? [Any])?.count == 1 })

        let list = try cli.run(["list", "--all", "--json"])
        #expect(list.status == 0, "\(list.stderr)")
        let rows = try list.array()
        #expect(rows.count == 1)
        #expect(rows.first?["state"] as? String == "failed")
        #expect(try standIn.live().isEmpty, "the interrupted create leaked an E2B sandbox")
    }

    @Test func faultsGiveTheRightOutcomeAndOneClearLine() throws {
        let standIn = try StandIn()
        let cli = try SandboxerCLI(standIn: standIn)

        // 429 with Retry-After: waited out, then created.
        try standIn.fault(["action": "status", "status": 429, "retryAfter": 1, "path": "^/v2/sandboxes$", "method": "POST"])
        let (id, _) = try cli.create()

        // 500: the create fails with one line; the next one succeeds.
        try standIn.fault(["action": "status", "status": 500, "path": "^/v2/sandboxes$", "method": "POST"])
        let failed = try cli.run(["create"])
        #expect(failed.status == 4)  // a 5xx: the backend is unavailable
        #expect(failed.stderr.split(separator: "\n").count == 1 && failed.stderr.contains("HTTP 500"), "\(failed.stderr)")
        _ = try cli.create()

        // A malformed answer after E2B made the sandbox: the create fails and nothing is left.
        try standIn.fault(["action": "malformed", "path": "^/v2/sandboxes$", "method": "POST"])
        let malformed = try cli.run(["create"])
        #expect(malformed.status == 3)  // the backend failed (internal)
        #expect(malformed.stderr.split(separator: "\n").count == 1 && malformed.stderr.contains("not valid JSON"), "\(malformed.stderr)")
        #expect(try standIn.live().count == 2, "the half-made sandbox leaked")

        // A truncated process stream: an error, not an exit code.
        try standIn.fault(["action": "truncate", "path": "^/process.Process/Start$", "server": "envd"])
        let truncated = try cli.run(["exec", id, "--", "echo", "hi"])
        #expect(truncated.status == 4)  // a cut stream: unavailable, never an exit code
        #expect(truncated.stderr.split(separator: "\n").count == 1 && truncated.stderr.contains("ended without"), "\(truncated.stderr)")

        // An exec timeout kills the command.
        let slow = try cli.run(["exec", "--timeout", "1s", id, "--", "sleep", "300"])
        #expect(slow.stderr.contains("timed out"), "\(slow.stderr)")

        // A refused key: one line that says so, without the key.
        let wrongKey = "e2b_wrong_" + UUID().uuidString
        var refused = cli
        refused.environment["SANDBOXER_SECRET_E2B"] = wrongKey
        let r = try refused.run(["create"])
        #expect(r.status != 0)   // the host reports a backend's invalid_request as a usage-class error (2)
        #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.contains("refused the key"), "\(r.stderr)")
        #expect(!r.stderr.contains(wrongKey))
        // show never carries the key either.
        let shown = try cli.run(["show", id, "--json"])
        #expect(!shown.stdout.contains(standIn.apiKey))
    }
}
