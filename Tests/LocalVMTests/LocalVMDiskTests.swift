import Foundation
import Glibc
import PluginKit
import Testing
@testable import LocalVM

/// `resources.disk_bytes`: the writable layer on a size-limited tmpfs of the sandbox's own.
@Suite("LocalVM disk limit", localVMAvailable)
struct LocalVMDiskTests {
    @Test("a disk fill stops at disk_bytes with ENOSPC, df shows the limit, the data dir's disk gets nothing")
    func fillStopsAtLimit() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "disk-\(UInt16.random(in: 0 ... .max))"
        let limit: Int64 = 16 << 20
        let created = try world.create(id, resources: ResourceLimits(diskBytes: limit))
        #expect(created.info["disk_bytes"] == .number(Double(limit)))
        let df = try world.sh(id, "df -k / | tail -1 | awk '{print $2}'")
        #expect(df.out == "\(limit >> 10)\n", "df: \(df.out) \(df.err)")
        let fill = try world.sh(id, "dd if=/dev/zero of=/fill bs=1M count=64")
        #expect(fill.exitCode != 0 && fill.err.contains("No space left on device"), "\(fill.err)")
        let size = try world.sh(id, "stat -c %s /fill")
        let written = try #require(Int64(size.out.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(written > limit / 2 && written <= limit, "wrote \(written)")

        // On the host the bytes are in the sandbox's tmpfs, on another device than the data dir.
        let layout = try SandboxLayout(dataDir: world.dataDir, sandboxId: id)
        var upper = stat(), data = stat()
        #expect(stat(layout.upper + "/fill", &upper) == 0 && stat(world.dataDir, &data) == 0)
        #expect(upper.st_dev != data.st_dev)
        #expect(LocalVMPlugin.mountPoints(under: layout.dir) == [layout.disk])
        let mountinfo = FileOps.readText("/proc/self/mountinfo") ?? ""
        #expect(mountinfo.split(separator: "\n").contains { $0.contains(" \(layout.disk) ") && $0.contains(" - tmpfs ") })

        // The sandbox goes on working, and freeing the file frees the space.
        #expect(try world.sh(id, "rm /fill && dd if=/dev/zero of=/again bs=1M count=4 2>/dev/null && echo ok").out == "ok\n")
        try world.destroy(id)
        #expect(LocalVMPlugin.mountPoints(under: layout.dir).isEmpty)
    }

    @Test("a sandbox without disk_bytes keeps its layers in the data dir; a tiny limit is refused")
    func defaultsAndValidation() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "nodisk-\(UInt16.random(in: 0 ... .max))"
        let created = try world.create(id)
        #expect(created.info["disk_bytes"] == nil)
        let layout = try SandboxLayout(dataDir: world.dataDir, sandboxId: id)
        #expect(layout.upper == layout.dir + "/upper")
        try world.destroy(id)
        expectPluginError(.invalidRequest) { try world.create("tiny", resources: ResourceLimits(diskBytes: 4096)) }
    }

    @Test("a snapshot of a disk-limited sandbox restores into a disk-limited one")
    func snapshotRoundTrip() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "dsnap-\(UInt16.random(in: 0 ... .max))"
        try world.create(id, resources: ResourceLimits(diskBytes: 8 << 20))
        #expect(try world.sh(id, "echo kept > /root/file && echo ok").out == "ok\n")
        let snap = LocalVMWorld.snapshotId()
        try world.snapshot(id, snap)
        try world.destroy(id)
        _ = try world.plugin.restore(RestoreRequest(create: world.request(id, resources: ResourceLimits(diskBytes: 8 << 20)),
                                                    snapshotRef: snap), call: .detached)
        #expect(try world.sh(id, "cat /root/file; df -k / | tail -1 | awk '{print $2}'").out == "kept\n8192\n")
        try world.destroy(id)
        try world.deleteSnapshot(snap)
    }
}
