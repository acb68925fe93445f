import Foundation
import Glibc
import PluginKit
import Testing
@testable import LocalVM

/// How an exec enters its sandbox: the cgroups it joins (the fast way, `clvm_exec_spec.cgroup_fast`),
/// for whole-buffer and streamed exec alike.
@Suite(localVMAvailable) struct LocalVMExecPathTests {
    /// The hierarchies a sandbox has a cgroup in, as /proc/<pid>/cgroup names them.
    static let joined = ["memory", "pids", "cpu", "freezer"]

    @Test("an exec'd command is in every cgroup of its sandbox, seen from inside and from the host")
    func execJoinsEveryCgroup() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "xp-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        // Inside: the sandbox's cgroup namespace is rooted at its cgroups, so each joined one reads "/".
        let inside = try world.exec(id, ["cat", "/proc/self/cgroup"])
        #expect(inside.exitCode == 0)
        // "ID:CONTROLLERS:PATH" lines; a host may co-mount controllers ("cpu,cpuacct").
        var entries: [(controllers: [String], path: String)] = []
        for line in inside.out.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            entries.append((controllers: parts[1].split(separator: ",").map { String($0) }, path: String(parts[2])))
        }
        for name in Self.joined {
            #expect(entries.contains { $0.controllers.contains(name) && $0.path == "/" }, "\(name) not joined: \(inside.out)")
        }
        #expect(entries.contains { $0.controllers.isEmpty && $0.path == "/" }, "the v2 cgroup not joined: \(inside.out)")

        // From the host: a streamed command's own /proc/<pid>/cgroup names the sandbox's cgroups.
        let started = try world.plugin.execStart(ExecStartRequest(sandboxId: id, backendRef: id, argv: ["sleep", "600"]),
                                                 call: .detached)
        let ref = ExecHandleRef(sandboxId: id, handle: started.handle)
        defer { try? world.plugin.execRelease(ref, call: .detached) }
        let ps = try world.sh(id, "for p in /proc/[0-9]*; do [ \"$(cat $p/comm)\" = sleep ] && echo ${p#/proc/}; done")
        let inner = try #require(ps.out.split(separator: "\n").first.map(String.init))
        let host = try #require(Self.hostPid(innerPid: inner, cgroupParent: world.cgroupParent))
        let text = try String(contentsOfFile: "/proc/\(host)/cgroup", encoding: .utf8)
        for name in Self.joined {
            #expect(text.split(separator: "\n").contains { $0.contains(name) && $0.hasSuffix(":/\(world.cgroupParent)/\(id)") },
                    "\(name): \(text)")
        }
        #expect(text.contains("0::/\(world.cgroupParent)/\(id)\n"), "v2: \(text)")
    }

    /// The host pid of the process named `name` whose innermost pid is `innerPid`, in the world's cgroups.
    static func hostPid(innerPid: String, cgroupParent: String, name: String = "sleep") -> Int32? {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let status = try? String(contentsOfFile: "/proc/\(entry)/status", encoding: .utf8),
                  status.contains("Name:\t\(name)\n"),
                  let nspid = status.split(separator: "\n").first(where: { $0.hasPrefix("NSpid:") }),
                  nspid.split(separator: "\t").last.map(String.init) == innerPid,
                  let cgroup = try? String(contentsOfFile: "/proc/\(entry)/cgroup", encoding: .utf8),
                  cgroup.contains(cgroupParent) else { continue }
            return pid
        }
        return nil
    }
}
