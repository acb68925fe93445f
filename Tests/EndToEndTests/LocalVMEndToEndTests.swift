import Foundation
import Testing

/// The built binary on the embedded default config: real LocalVM sandboxes (namespaces, overlay,
/// cgroups). Needs root and Debian's busybox-static, which CI installs.
@Suite(.serialized, .enabled(if: Machine.isRoot && Machine.hasBusybox, "needs root and busybox-static (apt-get install busybox-static)"))
struct LocalVMEndToEndTests {
    /// Everything on the host that could betray a leaked sandbox.
    struct Traces: Equatable {
        var processes: [String]
        var mounts: [String]
        var cgroups: [String]
        var directories: [String]
    }

    func traces(of id: String, home: String) -> Traces {
        let fm = FileManager.default
        var processes: [String] = []
        for pid in (try? fm.contentsOfDirectory(atPath: "/proc")) ?? [] where Int(pid) != nil {
            // A sandbox's processes see its id as their hostname: look for it in their UTS namespace.
            if let env = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8), env.contains(id) { processes.append(pid) }
        }
        let mountinfo = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        let mounts = mountinfo.split(separator: "\n").map(String.init).filter { $0.contains(id) }
        var cgroups: [String] = []
        for controller in ["memory", "pids", "cpu", "freezer", "unified"] {
            if let found = try? fm.subpathsOfDirectory(atPath: "/sys/fs/cgroup/\(controller)") {
                cgroups += found.filter { $0.hasSuffix(id) }.map { "\(controller)/\($0)" }
            }
        }
        let directories = ((try? fm.subpathsOfDirectory(atPath: home)) ?? []).filter { $0.hasSuffix(id) }
        return Traces(processes: processes, mounts: mounts, cgroups: cgroups, directories: directories)
    }

    @Test func createExecExtendDestroyLeavesNothing() throws {
        let cli = try CLIRunner()
        let created = try cli.run(["create", "--profile", "default", "--json"])
        try #require(created.status == 0, "create failed: \(created.stderr)")
        let id = try #require(try created.object()["id"] as? String)
        #expect(try created.object()["backend"] as? String == "localvm")

        // Isolation: hostname is the id, PID 1 is the sandbox's init, host processes are invisible.
        let hostname = try cli.run(["exec", id, "--", "hostname"])
        #expect(hostname.status == 0, "\(hostname.stderr)")
        #expect(hostname.stdout == id + "\n")
        let pids = try cli.run(["exec", id, "--", "sh", "-c", "ls /proc | grep -E '^[0-9]+$' | sort -n"])
        let visible = pids.stdout.split(separator: "\n").compactMap { Int($0) }
        #expect(visible.first == 1)
        // Inside: the init and this exec's own pipeline only; the host's processes (this test among them) are invisible.
        #expect(visible.count <= 8, "the sandbox sees host processes: \(visible)")
        let hostPids = (try FileManager.default.contentsOfDirectory(atPath: "/proc")).compactMap { Int($0) }
        #expect(hostPids.count > visible.count)
        let names = try cli.run(["exec", id, "--", "sh", "-c", "cat /proc/[0-9]*/comm"]).stdout.split(separator: "\n").map(String.init)
        let me = try String(contentsOfFile: "/proc/self/comm", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!names.isEmpty)
        #expect(!names.contains(me), "the sandbox sees the test process \(me)")
        #expect(!names.contains("sandboxer"), "the sandbox sees the CLI that entered it")
        let init1 = try cli.run(["exec", id, "--", "cat", "/proc/1/cmdline"])
        #expect(init1.status == 0)
        #expect(!init1.stdout.isEmpty)
        let marker = "sandboxer-e2e-\(id)"
        #expect(try cli.run(["exec", id, "--", "sh", "-c", "echo hi > /\(marker) && cat /\(marker)"]).stdout == "hi\n")
        #expect(!FileManager.default.fileExists(atPath: "/\(marker)"), "a write to / escaped the sandbox")
        let failing = try cli.run(["exec", id, "--", "sh", "-c", "echo oops >&2; exit 3"])
        #expect(failing.status == 3)
        #expect(failing.stderr == "oops\n")
        #expect(try cli.run(["exec", id, "--", "sh", "-c", "ls /sys/class/net"]).stdout == "lo\n")

        let ext = try cli.run(["extend-ttl", id, "--duration", "2h", "--json"])
        #expect(ext.status == 0, "\(ext.stderr)")
        #expect(try ext.object()["ttl"] as? String == "3h")

        let running = traces(of: id, home: cli.home)
        #expect(!running.cgroups.isEmpty, "the sandbox has no cgroup to limit it")
        let destroyed = try cli.run(["destroy", id, "--json"])
        #expect(destroyed.status == 0, "\(destroyed.stderr)")
        #expect(traces(of: id, home: cli.home) == Traces(processes: [], mounts: [], cgroups: [], directories: []))
    }

    @Test func reapStaleDestroysAnUnknownSandboxAndMarksAVanishedOne() throws {
        let cli = try CLIRunner()
        let orphan = try #require(try cli.run(["create", "--json"]).object()["id"] as? String)
        let ghost = try #require(try cli.run(["create", "--json"]).object()["id"] as? String)
        let db = cli.home + "/data/sandboxer.db"
        try #require(Machine.hasTool("sqlite3"), "sqlite3 is needed to edit the store behind the CLI's back")
        // Forget the orphan's row; bring the ghost's row back to life after its sandbox is gone.
        #expect(try cli.run(["destroy", ghost]).status == 0)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["sqlite3", db, "DELETE FROM sandboxes WHERE id = '\(orphan)'; UPDATE sandboxes SET state = 'ready', reason = NULL WHERE id = '\(ghost)';"]
        try p.run(); p.waitUntilExit()
        try #require(p.terminationStatus == 0)

        let plan = try cli.run(["reap-stale", "--json"]).object()
        #expect((plan["orphans"] as? [[String: Any]])?.map { $0["sandbox_id"] as? String } == [orphan])
        #expect((plan["ghosts"] as? [[String: Any]])?.map { $0["id"] as? String } == [ghost])
        let applied = try cli.run(["reap-stale", "--apply", "--json"])
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(traces(of: orphan, home: cli.home) == Traces(processes: [], mounts: [], cgroups: [], directories: []))
        let g = try cli.run(["show", ghost, "--json"]).object()
        #expect(g["state"] as? String == "failed")
        #expect(g["reason"] as? String == "backend_vanished")
    }
}
