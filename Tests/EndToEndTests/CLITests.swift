import Foundation
import Testing

/// The built binary against the test plugin (a fake backend that keeps state in files): the CLI's
/// surface, exit codes, JSON, and lifecycle across processes. Needs no root.
@Suite struct CLITests {
    func fake() throws -> CLIRunner {
        try CLIRunner.onFakeBackend(profiles: """
              default:
                backend: fake
                ttl: {default: 1h, max: 4h}
              idle:
                backend: fake
                ttl: {default: 1d, max: 2d, idle_reap: 10m}
            """)
    }

    func rowCount(_ cli: CLIRunner) throws -> Int {
        try cli.run(["list", "--all", "--json"]).array().count
    }

    @Test func helpAndVersion() throws {
        let cli = try CLIRunner()
        let top = try cli.run(["--help"])
        #expect(top.status == 0)
        #expect(top.stdout.contains("Commands:"))
        for command in ["create", "list", "show", "exec", "extend-ttl", "destroy", "expire", "reap-stale", "backends", "profiles", "events"] {
            let r = try cli.run([command, "--help"])
            #expect(r.status == 0, "\(command) --help")
            #expect(r.stdout.contains("Usage: sandboxer \(command)"))
            #expect(r.stdout.contains("--json"))
        }
    }

    @Test func usageErrorsAreOneLineAndExitTwo() throws {
        let cli = try fake()
        for args in [["bogus"], ["create", "--nope"], ["show"], ["exec", "sbx-0000000000000000"], ["create", "--ttl", "1.5h"],
                     ["create", "--ttl", "0s"], ["list", "--state", "zombie"], ["extend-ttl", "sbx-0000000000000000"]] {
            let r = try cli.run(args)
            #expect(r.status == 2, "\(args)")
            #expect(r.stderr.hasPrefix("sandboxer: "), "\(args)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(args): \(r.stderr)")
            #expect(r.stdout.isEmpty)
        }
        #expect(try rowCount(cli) == 0)
    }

    @Test func failuresAreOneLineAndExitOneAndWriteNoRow() throws {
        let cli = try fake()
        for args in [["create", "--profile", "nope"], ["show", "sbx-0123456789abcdef"], ["destroy", "../../etc/passwd"],
                     ["extend-ttl", "sbx-0123456789abcdef", "--duration", "1h"]] {
            let r = try cli.run(args)
            #expect(r.status == 1, "\(args)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(args): \(r.stderr)")
        }
        #expect(try cli.run(["create", "--profile", "nope"]).stderr.contains("No profile named 'nope'"))
        #expect(try rowCount(cli) == 0)
    }

    @Test func malformedConfigPointsAtTheLine() throws {
        var cli = try CLIRunner()
        try cli.useConfig("profiles:\n  default:\n\tbackend: x\n")
        let r = try cli.run(["list"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("sandboxer.yaml:3:"))
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    @Test func missingPluginFailsCreateAndWritesNoRow() throws {
        var cli = try CLIRunner()
        try cli.useConfig("""
        backends:
          gone:
            plugin: /nonexistent/libgone.so
        profiles:
          default:
            backend: gone
            ttl: {default: 1h, max: 2h}
        """)
        let r = try cli.run(["create"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("/nonexistent/libgone.so"))
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(try rowCount(cli) == 0)
    }

    @Test func lifecycleAcrossProcesses() throws {
        let cli = try fake()
        let created = try cli.run(["create", "--ttl", "2h", "--label", "team=infra", "--json"])
        #expect(created.status == 0, "\(created.stderr)")
        let s = try created.object()
        for key in ["id", "profile", "backend", "state", "ttl", "created_at", "ready_at", "updated_at", "expires_at", "labels"] {
            #expect(s[key] != nil, "missing \(key)")
        }
        let id = try #require(s["id"] as? String)
        #expect(s["state"] as? String == "ready")
        #expect(s["ttl"] as? String == "2h")
        #expect((s["labels"] as? [String: String])?["team"] == "infra")
        #expect((s["expires_at"] as? String)?.hasSuffix("Z") == true)

        let shown = try cli.run(["show", id, "--json"]).object()
        #expect(shown["id"] as? String == id)
        let table = try cli.run(["list"])
        #expect(table.stdout.hasPrefix("ID "))
        #expect(table.stdout.contains(id))
        #expect(try cli.run(["list", "--label", "team=infra", "--json"]).array().count == 1)
        #expect(try cli.run(["list", "--label", "team=other", "--json"]).array().isEmpty)

        let exec = try cli.run(["exec", id, "--", "echo", "hi"])
        #expect(exec.status == 0)
        #expect(exec.stdout == "ran: echo hi\n")
        #expect(try cli.run(["exec", id, "--", "exit", "7"]).status == 7)

        let ext = try cli.run(["extend-ttl", id, "--duration", "1d", "--json"]).object()
        #expect(ext["ttl_capped"] as? Bool == true)
        #expect(ext["ttl"] as? String == "4h")

        let destroyed = try cli.run(["destroy", id, "--json"]).object()
        #expect(destroyed["state"] as? String == "destroyed")
        #expect(destroyed["reason"] as? String == "manual")
        #expect(try cli.run(["destroy", id]).status == 0)  // idempotent
        let refused = try cli.run(["extend-ttl", id, "--duration", "1h"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("destroyed"))

        let events = try cli.run(["events", id, "--json"]).array().map { $0["type"] as? String }
        #expect(events == ["created", "ready", "ttl_extended", "destroying", "destroyed"])
    }

    @Test func createIsCappedAtTheProfileMax() throws {
        let cli = try fake()
        let s = try cli.run(["create", "--ttl", "3d", "--json"]).object()
        #expect(s["ttl"] as? String == "4h")
        #expect(s["ttl_capped"] as? Bool == true)
        #expect(s["requested_ttl"] as? String == "3d")
    }

    @Test func expirePlanApplyAndNoOpWithAShiftedClock() throws {
        let cli = try fake()
        let short = try #require(try cli.run(["create", "--ttl", "30m", "--json"]).object()["id"] as? String)
        let long = try #require(try cli.run(["create", "--ttl", "3h", "--json"]).object()["id"] as? String)
        let later = ["SANDBOXER_CLOCK_OFFSET": "1h"]
        let plan = try cli.run(["expire", "--json"], extraEnv: later).object()
        #expect(plan["apply"] as? Bool == false)
        let items = try #require(plan["items"] as? [[String: Any]])
        #expect(items.map { $0["id"] as? String } == [short])
        #expect(items.first?["rule"] as? String == "ttl")
        #expect(try cli.run(["show", short, "--json"]).object()["state"] as? String == "ready")

        let applied = try cli.run(["expire", "--apply", "--json"], extraEnv: later)
        #expect(applied.status == 0)
        let done = try #require(try applied.object()["items"] as? [[String: Any]])
        #expect(done.first?["outcome"] as? String == "destroyed")
        let gone = try cli.run(["show", short, "--json"]).object()
        #expect(gone["state"] as? String == "destroyed")
        #expect(gone["reason"] as? String == "ttl")
        #expect(try cli.run(["show", long, "--json"]).object()["state"] as? String == "ready")

        let again = try cli.run(["expire", "--apply", "--json"], extraEnv: later).object()
        #expect((again["items"] as? [Any])?.isEmpty == true)
        #expect(try cli.run(["expire"], extraEnv: later).stdout == "Nothing is due.\n")
    }

    @Test func profilesAndBackends() throws {
        let cli = try fake()
        let profiles = try cli.run(["profiles", "--json"]).array()
        #expect(profiles.map { $0["name"] as? String } == ["default", "idle"])
        let backends = try cli.run(["backends", "--json"])
        #expect(backends.status == 0, "\(backends.stderr)")
        let b = try backends.array()
        #expect(b.first?["status"] as? String == "ok")
        #expect((b.first?["capabilities"] as? [String])?.contains("sandboxer.exec/1") == true)
    }
}

/// A plugin built for another ABI major is refused through the CLI with one line, and no row is written.
@Suite(.enabled(if: Machine.hasTool("cc"), "needs cc to build the C plugin (apt-get install gcc)"))
struct WrongABIPluginTests {
    @Test func createWithAWrongABIPluginFailsCleanly() throws {
        var cli = try CLIRunner()
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let lib = cli.home + "/plugins/libabi2.so"
        try FileManager.default.createDirectory(atPath: cli.home + "/plugins", withIntermediateDirectories: true)
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        cc.arguments = ["cc", "-shared", "-fPIC", "-I", repo + "/Sources/PluginABI/include", "-I", repo + "/Sources/PluginABI/contrib",
                        "-DABI_MAJOR_OVERRIDE=2", "-o", lib, repo + "/Tests/Fixtures/CPlugin/cplugin.c",
                        repo + "/Sources/PluginABI/contrib/sbx_helper.c"]
        try cc.run(); cc.waitUntilExit()
        try #require(cc.terminationStatus == 0)
        try cli.useConfig("""
        data_dir: @HOME@/data
        backends:
          old:
            plugin: \(lib)
        profiles:
          default:
            backend: old
        """)
        let r = try cli.run(["create"])
        #expect(r.status == 1)
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stderr.contains(lib))
        #expect(r.stderr.contains("ABI 2.1"))
        #expect(r.stderr.contains("ABI 1.1"))
        #expect(try cli.run(["list", "--all", "--json"]).array().isEmpty)
        let backends = try cli.run(["backends"])
        #expect(backends.status == 1)
        #expect(backends.stdout.contains("error"))
    }
}
