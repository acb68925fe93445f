import Foundation
import Glibc
import PluginKit
import Testing
@testable import LocalVM

/// The init joins its sandbox's cgroups the way exec does (clone3 into the v2 cgroup, v1 `tasks`
/// written by itself): it must still be in all five, and a limit must still hold for it.
@Suite("LocalVM launch cgroups", localVMAvailable)
struct LocalVMLaunchCgroupTests {
    @Test("the init is in every cgroup of its sandbox, seen from the host")
    func initJoinsEveryCgroup() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "lc-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        let pid = try world.meta(id).initPid
        let text = try String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)
        for name in LocalVMExecPathTests.joined {
            #expect(text.split(separator: "\n").contains { $0.contains(name) && $0.hasSuffix(":/\(world.cgroupParent)/\(id)") },
                    "\(name): \(text)")
        }
        #expect(text.contains("0::/\(world.cgroupParent)/\(id)\n"), "v2: \(text)")
        // And each cgroup lists it (what destroy's kill and wait rely on).
        for dir in world.plugin.cgroups.dirs(id) {
            let procs = try String(contentsOfFile: dir + "/cgroup.procs", encoding: .utf8)
            #expect(procs.split(separator: "\n").contains("\(pid)"), "\(dir): \(procs)")
        }
        try world.destroy(id)
    }
}
