import CLocalVM
import Foundation
import Glibc
import PluginKit
import Testing
@testable import LocalVM

@Suite("LocalVM lifecycle", localVMAvailable)
struct LocalVMLifecycleTests {
    @Test("describe names localvm and its seven capabilities")
    func describe() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let data = try world.plugin.invoke(operation: "describe", request: Data("{}".utf8), call: .detached)
        let d = try JSONDecoder().decode(DescribeResponse.self, from: data)
        #expect(d.name == "localvm")
        #expect(Set(d.capabilities) == [Capability.lifecycle, Capability.exec, Capability.inventory, Capability.timeout,
                                        Capability.snapshot, "sandboxer.reach/1", Capability.execStream])
    }

    @Test("a sandbox is isolated: hostname, its own init, pids, root, network")
    func isolation() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "iso-\(UInt16.random(in: 0 ... .max))"
        let created = try world.create(id)
        #expect(created.backendRef == id)

        #expect(try world.exec(id, ["hostname"]).out == id + "\n")
        let cmdline = try world.exec(id, ["cat", "/proc/1/cmdline"]).out
        #expect(cmdline.contains(InitProgram.name))
        // Only the sandbox's processes are visible: a handful of small pids, 1 among them.
        let procs = try world.sh(id, "ls /proc | grep -E '^[0-9]+$'").out.split(separator: "\n").compactMap { Int($0) }
        #expect(procs.contains(1))
        #expect(procs.count <= 6, "\(procs)")
        let ps = try world.exec(id, ["ps", "-o", "pid,comm"]).out
        #expect(!ps.contains("swift"), "\(ps)")
        // Runs as root of its own user namespace, mapped to its own host id range (LocalVMUidTests).
        let hostBase = try #require(try world.meta(id).hostUidBase)
        #expect(try world.exec(id, ["id", "-u"]).out == "0\n")
        #expect(try world.exec(id, ["cat", "/proc/self/uid_map"]).out.split(separator: " ", omittingEmptySubsequences: true)
            .map(String.init).prefix(3) == ["0", "\(hostBase)", "65536\n"])
        // Network: loopback only, and up.
        #expect(try world.exec(id, ["ls", "/sys/class/net"]).out == "lo\n")
        let links = try world.exec(id, ["ip", "-o", "link"]).out.split(separator: "\n")
        #expect(links.count == 1 && links[0].contains("lo:") && links[0].contains("UP"), "\(links)")
        // A file written to / lands in the upper dir, not on the host's /.
        let marker = "marker-\(id)"
        #expect(try world.sh(id, "echo secret > /\(marker)").exitCode == 0)
        #expect(!FileManager.default.fileExists(atPath: "/" + marker))
        let upper = world.dataDir + "/sandboxes/\(id)/upper/\(marker)"
        #expect(FileManager.default.contents(atPath: upper).map { String(decoding: $0, as: UTF8.self) } == "secret\n")
        // The base image is untouched.
        #expect(!FileManager.default.fileExists(atPath: world.dataDir + "/images/busybox/rootfs/" + marker))

        // The init is detached: not our child, leader of its own session.
        let meta = try world.meta(id)
        let fields = try #require(FileOps.readText("/proc/\(meta.initPid)/stat")).split(separator: ")").last!
            .split(separator: " ")
        #expect(Int32(fields[1]) != getpid(), "the init's parent is the test process")
        #expect(Int32(fields[3]) == meta.initPid, "the init is not a session leader")
        #expect(meta.initStartTime == ProcessIdentity.stat(meta.initPid)?.startTime)
        try world.destroy(id)
    }

    @Test("exec: exit codes, stderr, stdin, env, missing command")
    func execBasics() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "exec-\(UInt16.random(in: 0 ... .max))"
        try world.create(id, env: ["FROM_CREATE": "c"])
        let r = try world.sh(id, "echo out; echo err >&2; exit 7")
        #expect(r.exitCode == 7)
        #expect(r.out == "out\n")
        #expect(r.err == "err\n")
        #expect(!r.timedOut)
        #expect(try world.exec(id, ["cat"], stdin: "hello stdin\n").out == "hello stdin\n")
        #expect(try world.exec(id, ["cat"]).out == "") // no stdin: /dev/null
        let env = try world.exec(id, ["sh", "-c", "echo $FROM_CREATE $FOO $HOME $PATH"], env: ["FOO": "bar"]).out
        #expect(env == "c bar /root /usr/sbin:/usr/bin:/sbin:/bin\n")
        let missing = try world.exec(id, ["no-such-command"])
        #expect(missing.exitCode == 127)
        #expect(missing.err.contains("no-such-command"))
        let killed = try world.sh(id, "kill -9 $$")
        #expect(killed.exitCode == 128 + 9)
        // Large output through both pipes at once does not deadlock.
        let big = try world.sh(id, "head -c 3000000 /dev/zero | tr '\\0' a; head -c 2000000 /dev/zero | tr '\\0' b >&2")
        #expect(big.stdout.count == 3_000_000 && big.stderr.count == 2_000_000)
        // The command starts in / and runs inside the sandbox's cgroups.
        #expect(try world.exec(id, ["pwd"]).out == "/\n")
        let cg = try world.exec(id, ["cat", "/proc/self/cgroup"]).out
        #expect(cg.contains("memory:/\n"), "\(cg)")
        try world.destroy(id)
    }

    @Test("exec timeout kills the command and says so")
    func execTimeout() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "tmo-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        let start = Date()
        let r = try world.exec(id, ["sh", "-c", "echo started; sleep 30; echo never"], timeout: 1)
        #expect(r.timedOut)
        #expect(r.exitCode == 128 + 9)
        #expect(r.out == "started\n")
        #expect(Date().timeIntervalSince(start) < 10)
        // The sandbox itself is still fine.
        #expect(try world.exec(id, ["true"]).exitCode == 0)
        try world.destroy(id)
    }

    @Test("destroy leaves no process, mount, cgroup or directory; a second destroy is not_found")
    func destroyLeavesNothing() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "des-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        // Leave work behind: a background process started through exec, and an orphan.
        _ = try world.sh(id, "sleep 1000 >/dev/null 2>&1 & (sleep 1001 >/dev/null 2>&1 &) ; echo ok")
        let meta = try world.meta(id)
        let layout = CgroupLayout(parent: world.cgroupParent)
        let pids = layout.pids(id)
        #expect(pids.contains(meta.initPid))
        #expect(pids.count >= 3, "\(pids)") // init, two sleeps (the shell init adds its timer)
        try world.destroy(id)
        #expect(waitForExit(pid: meta.initPid, ms: 0) || !ProcessIdentity(pid: meta.initPid, startTime: meta.initStartTime).isRunning)
        for pid in pids { #expect(ProcessIdentity.stat(pid).map { $0.state == "Z" } ?? true, "pid \(pid) survived") }
        for dir in layout.dirs(id) { #expect(!FileManager.default.fileExists(atPath: dir), "\(dir) left behind") }
        #expect(!FileManager.default.fileExists(atPath: world.dataDir + "/sandboxes/\(id)"))
        #expect(LocalVMPlugin.mountPoints(under: world.dataDir + "/sandboxes/\(id)").isEmpty)
        expectPluginError(.notFound) { try world.destroy(id) }
        expectPluginError(.notFound) { try world.status(id) }
        expectPluginError(.notFound) { try world.exec(id, ["true"]) }
    }

    @Test("create refuses bad ids, duplicate ids, unsupported networks and bad limits")
    func createValidation() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        expectPluginError(.invalidRequest) { try world.create("../escape") }
        expectPluginError(.invalidRequest) { try world.create(String(repeating: "a", count: 65)) }
        expectPluginError(.invalidRequest) {
            try world.plugin.create(world.request("net1"), network: NetworkOptions(egress: .nat), call: .detached)
        }
        expectPluginError(.invalidRequest) { try world.plugin.create(world.request("net2", network: "host"), call: .detached) }
        expectPluginError(.invalidRequest) { try world.create("lim", resources: ResourceLimits(pids: 1)) }
        expectPluginError(.invalidRequest) { try world.create("img", image: "relative/path") }
        expectPluginError(.invalidRequest) { try world.create("img2", image: "/nonexistent/rootfs") }
        let id = "dup-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        expectPluginError(.conflict) { try world.create(id) }
        #expect(try world.status(id).state == "running") // the failed duplicate did not hurt the original
        try world.destroy(id)
        // Nothing of the refused creates is left.
        #expect(FileOps.list(world.dataDir + "/sandboxes").isEmpty)
    }

    @Test("config is validated")
    func configValidation() throws {
        expectPluginError(.invalidRequest) { try LocalVMPlugin(config: .object([:]), host: .standalone()) }
        expectPluginError(.invalidRequest) { try LocalVMPlugin(config: ["data_dir": "relative"], host: .standalone()) }
        expectPluginError(.invalidRequest) { try LocalVMPlugin(config: ["data_dir": "/tmp/x", "cgroup_parent": "../x"], host: .standalone()) }
        expectPluginError(.invalidRequest) { try LocalVMPlugin(config: ["data_dir": "/tmp/x", "uid_base": -5], host: .standalone()) }
        let p = try LocalVMPlugin(config: ["data_dir": "/tmp/x/", "uid_base": 200000], host: .standalone())
        #expect(p.config == LocalVMConfig(dataDir: "/tmp/x", uidBase: 200000, cgroupParent: "sandboxer"))
    }
}
