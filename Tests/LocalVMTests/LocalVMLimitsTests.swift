import Foundation
import Glibc
import PluginKit
import Testing
@testable import LocalVM

@Suite("LocalVM resource limits", localVMAvailable)
struct LocalVMLimitsTests {
    @Test("memory: a process allocating past memory_bytes is killed, a small one is not")
    func memoryLimit() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "mem-\(UInt16.random(in: 0 ... .max))"
        try world.create(id, resources: ResourceLimits(memoryBytes: 32 << 20))
        let layout = CgroupLayout(parent: world.cgroupParent)
        #expect(FileOps.readText(layout.dir("memory", id) + "/memory.limit_in_bytes") == "\(32 << 20)\n")
        #expect(try world.exec(id, ["dd", "if=/dev/zero", "of=/dev/null", "bs=4M", "count=1"]).exitCode == 0)
        // The exec helper shields itself from the OOM killer; the command must not inherit that.
        #expect(try world.exec(id, ["cat", "/proc/self/oom_score_adj"]).out == "0\n")
        let big = try world.exec(id, ["dd", "if=/dev/zero", "of=/dev/null", "bs=96M", "count=1"])
        #expect(big.exitCode == 128 + 9, "exit \(big.exitCode): \(big.err)")
        #expect(try world.status(id).state == "running") // the OOM kill took the hog, not the init
        try world.destroy(id)
    }

    @Test("pids: forks past resources.pids are refused")
    func pidsLimit() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "pid-\(UInt16.random(in: 0 ... .max))"
        try world.create(id, resources: ResourceLimits(pids: 8))
        let layout = CgroupLayout(parent: world.cgroupParent)
        #expect(FileOps.readText(layout.dir("pids", id) + "/pids.max") == "8\n")
        let r = try world.sh(id, "n=0; while [ $n -lt 12 ]; do sleep 100 </dev/null >/dev/null 2>&1 & n=$((n+1)); done; echo done")
        #expect(r.err.contains("fork"), "stderr: \(r.err)")
        #expect(r.exitCode != 0 && r.out.isEmpty) // busybox sh gives up at the first refused fork
        #expect(CgroupLayout(parent: world.cgroupParent).pids(id).count <= 8)
        try world.destroy(id)
    }

    @Test("cpus become a CFS quota")
    func cpuQuota() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "cpu-\(UInt16.random(in: 0 ... .max))"
        try world.create(id, resources: ResourceLimits(cpus: 0.5))
        let layout = CgroupLayout(parent: world.cgroupParent)
        #expect(FileOps.readText(layout.dir("cpu", id) + "/cpu.cfs_quota_us") == "50000\n")
        #expect(FileOps.readText(layout.dir("cpu", id) + "/cpu.cfs_period_us") == "100000\n")
        try world.destroy(id)
    }
}
