import Basics
import Foundation
import Glibc
import Testing

@Suite("BYOK node helper: sandbox lifecycle", nodeAvailable, .timeLimit(.minutes(2)))
struct NodeLifecycleTests {
    @Test("the init's own deadline ends the sandbox with no controller and no helper running")
    func initDeadline() throws {
        let w = try NodeWorld()
        defer { w.finish() }
        let pid = try w.create("d1", image: try w.pushImage(), ttl: 2)
        // No helper process exists from here on: only the init's own timer can end it.
        #expect(ProcessScan.waitExit(pid, ms: 15_000), "the init must exit by itself at its deadline")
        let item = try #require(try Self.inventory(w)["d1"])
        #expect(item["alive"] as? Bool == false)
        let exec = try w.sh("d1", "true")
        #expect((exec.status["error"] as? [String: Any])?["code"] as? String == "invalid_request")
    }

    @Test("set-timeout moves the init's deadline: later is recorded, sooner ends it at once")
    func setTimeout() throws {
        let w = try NodeWorld()
        defer { w.finish() }
        let pid = try w.create("t1", image: try w.pushImage(), ttl: 600)
        let before = try #require(try Self.inventory(w)["t1"]?["deadline_unix_ms"] as? Int)
        let later = try w.ok(["set-timeout", "--id", "t1", "--ttl-seconds", "3600"])
        let moved = try #require(try Self.inventory(w)["t1"]?["deadline_unix_ms"] as? Int)
        #expect(moved == later["deadline_unix_ms"] as? Int)
        #expect(moved > before + 2_900_000)
        let file = try String(contentsOfFile: w.nodeDir + "/sandboxes/t1/ctl/deadline", encoding: .utf8)
        #expect(Int(file.trimmingCharacters(in: .whitespacesAndNewlines)) == (moved + 999) / 1000)
        #expect(ProcessScan.isLive(pid))
        try w.ok(["set-timeout", "--id", "t1", "--ttl-seconds", "1"])
        #expect(ProcessScan.waitExit(pid, ms: 15_000), "SIGUSR1 makes the init re-read its deadline")
        let dead = try w.run(["set-timeout", "--id", "t1", "--ttl-seconds", "60"])
        #expect(dead["code"] as? String == "invalid_request")
        let missing = try w.run(["set-timeout", "--id", "nope", "--ttl-seconds", "60"])
        #expect(missing["code"] as? String == "not_found")
    }

    @Test("create is idempotent for the same request and refuses a different one with the same id")
    func idempotentCreate() throws {
        let w = try NodeWorld()
        defer { w.finish() }
        let image = try w.pushImage()
        let pid = try w.create("i1", image: image, ttl: 600)
        let again = try w.ok(["create", "--id", "i1", "--image", image, "--ttl-seconds", "600"])
        #expect(again["pid"] as? Int == Int(pid) && again["existed"] as? Bool == true)
        let other = try w.run(["create", "--id", "i1", "--image", image, "--ttl-seconds", "601"])
        #expect(other["code"] as? String == "invalid_request")
    }

    @Test("snapshot streams a gzip'd tar of the upper dir; create --snapshot starts from it")
    func snapshotRestore() throws {
        let w = try NodeWorld()
        defer { w.finish() }
        let image = try w.pushImage()
        try w.create("s1", image: image)
        #expect(try w.sh("s1", "echo kept > /root/file; rm /etc/group").exitCode == 0)
        let p = try NodeProcess(["--node-dir", w.nodeDir, "snapshot", "--id", "s1"])
        p.closeStdin()
        let o = ExecOutcome.collect(p)
        #expect(p.wait() == 0)
        let hex = SHA256.hex(SHA256.hash(Array(o.stdout)))
        #expect(o.status["sha256"] as? String == hex)
        #expect(o.status["size_bytes"] as? Int == o.stdout.count)
        #expect(o.stdout.prefix(2) == Data([0x1f, 0x8b]))
        #expect(try w.sh("s1", "cat /root/file").out == "kept\n", "the sandbox runs on after its snapshot")

        try w.ok(["put-blob", "--sha256", hex], stdin: o.stdout)
        try w.create("s2", image: image, extra: ["--snapshot", hex])
        let restored = try w.sh("s2", "cat /root/file; test -e /etc/group || echo no-group")
        #expect(restored.out == "kept\nno-group\n")
    }

    @Test("destroy leaves nothing: no process, cgroup, mount or directory; a second destroy says existed false")
    func destroyLeavesNothing() throws {
        let w = try NodeWorld()
        defer { w.finish() }
        let pid = try w.create("x1", image: try w.pushImage(), extra: ["--memory-bytes", "67108864", "--pids", "64", "--cpus", "0.5"])
        #expect(FileManager.default.fileExists(atPath: w.cgroupDirs("x1").first { FileManager.default.fileExists(atPath: $0) } ?? "/nonexistent"))
        // A background process started by an exec that has long returned.
        let marker = NodeExecTests.marker()
        let bg = try w.sh("x1", "setsid sleep \(marker) </dev/null >/dev/null 2>&1 & until [ \"$(tr '\\0' ' ' </proc/$!/cmdline)\" = \"sleep \(marker) \" ]; do :; done")
        #expect(bg.exitCode == 0)
        #expect(ProcessScan.live(argv: ["sleep", marker]).count == 1)
        let d = try w.ok(["destroy", "--id", "x1"])
        #expect(d["existed"] as? Bool == true)
        #expect(!ProcessScan.isLive(pid))
        #expect(ProcessScan.live(argv: ["sleep", marker]).isEmpty)
        for dir in w.cgroupDirs("x1") { #expect(!FileManager.default.fileExists(atPath: dir), "\(dir) remains") }
        #expect(ProcessScan.mounts(under: w.nodeDir).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: w.nodeDir + "/sandboxes/x1"))
        #expect(try Self.inventory(w).isEmpty)
        #expect(try w.ok(["destroy", "--id", "x1"])["existed"] as? Bool == false)
    }

    @Test("two node dirs on one kernel never see each other's sandboxes, even with the same id")
    func nodeDirsAreApart() throws {
        let a = try NodeWorld(), b = try NodeWorld()
        defer { a.finish(); b.finish() }
        #expect(a.cgroupParent != b.cgroupParent)
        let pa = try a.create("same", image: try a.pushImage())
        let pb = try b.create("same", image: try b.pushImage())
        try a.create("only-a", image: try a.pushImage())
        #expect(Set(try Self.inventory(a).keys) == ["same", "only-a"])
        #expect(Set(try Self.inventory(b).keys) == ["same"])
        try a.ok(["destroy", "--id", "same"])
        #expect(!ProcessScan.isLive(pa))
        #expect(ProcessScan.isLive(pb), "destroying a's sandbox leaves b's alone")
        #expect(try b.sh("same", "hostname").out == "same\n")
    }

    /// inventory as id → entry.
    static func inventory(_ w: NodeWorld) throws -> [String: [String: Any]] {
        let items = try #require(try w.ok(["inventory"])["sandboxes"] as? [[String: Any]])
        var byId: [String: [String: Any]] = [:]
        for item in items { if let id = item["id"] as? String { byId[id] = item } }
        return byId
    }
}
