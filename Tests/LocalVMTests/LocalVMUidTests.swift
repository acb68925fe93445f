import Foundation
import Glibc
import PluginKit
import Testing
@testable import LocalVM

/// Per-sandbox host id ranges (UidPool) over the one shifted on-disk range (idmapped layers).
@Suite("LocalVM host id ranges", localVMAvailable)
struct LocalVMUidTests {
    /// The real uid of a host process, from its /proc status.
    static func hostUid(_ pid: Int32) -> UInt32? {
        guard let text = FileOps.readText("/proc/\(pid)/status"),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") })
        else { return nil }
        return line.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first.flatMap { UInt32($0) }
    }

    @Test("two sandboxes run as different host uids; files on disk stay in the shared range; the image looks right inside")
    func distinctRanges() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let a = "uida-\(UInt16.random(in: 0 ... .max))", b = "uidb-\(UInt16.random(in: 0 ... .max))"
        let ca = try world.create(a), cb = try world.create(b)
        let ma = try world.meta(a), mb = try world.meta(b)
        let ua = try #require(Self.hostUid(ma.initPid)), ub = try #require(Self.hostUid(mb.initPid))
        #expect(ua != ub, "both inits run as host uid \(ua)")
        #expect(ua != ma.uidBase && ub != mb.uidBase)
        #expect(ua >= LocalVMConfig.defaultUidPoolBase && ub >= LocalVMConfig.defaultUidPoolBase)
        #expect(ua == ma.hostUidBase && ub == mb.hostUidBase)
        #expect(ca.info["host_uid_base"] == .number(Double(ua)) && cb.info["host_uid_base"] == .number(Double(ub)))
        // Inside: root, the base image owned by root, and root can change it (copy-up).
        let r = try world.sh(a, "id -u; stat -c '%u %g' /etc/passwd /bin; echo 'x:x:7:7::/:/bin/sh' >> /etc/passwd && echo ok; "
                                + "touch /mine && chown 7:7 /mine && stat -c %u /mine")
        #expect(r.out == "0\n0 0\n0 0\nok\n7\n", "\(r.out) \(r.err)")
        // On the host, what it wrote is in the shared on-disk range (uid_base + id), like before.
        let layout = try SandboxLayout(dataDir: world.dataDir, sandboxId: a)
        var st = stat()
        #expect(stat(layout.upper + "/mine", &st) == 0 && st.st_uid == ma.uidBase + 7, "owner \(st.st_uid)")
        #expect(stat(layout.upper + "/etc/passwd", &st) == 0 && st.st_uid == ma.uidBase)
        // An exec runs in the sandbox's range too.
        let map = try world.exec(b, ["cat", "/proc/self/uid_map"]).out
        #expect(map.split(separator: " ", omittingEmptySubsequences: true).prefix(2).map(String.init) == ["0", "\(ub)"])
        try world.destroy(a)
        try world.destroy(b)
        #expect(world.plugin.uids.leases().isEmpty)
    }

    @Test("destroy frees the range for the next sandbox; a lease without its sandbox is reclaimed")
    func reclaim() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let first = "r1-\(UInt16.random(in: 0 ... .max))"
        try world.create(first)
        let base0 = try #require(try world.meta(first).hostUidBase)
        #expect(base0 == world.plugin.uids.hostBase(0))
        try world.destroy(first)
        // A crashed create's leftover: a lease on slice 0 whose sandbox directory is gone.
        try FileOps.writeAtomically(world.plugin.uids.path("ghost"), Data("0\n".utf8))
        let second = "r2-\(UInt16.random(in: 0 ... .max))"
        try world.create(second)
        #expect(try world.meta(second).hostUidBase == base0)
        #expect(world.plugin.uids.leases().map(\.0) == [second])
        try world.destroy(second)
    }

    @Test("a full pool answers quota and leaves nothing behind")
    func fullPool() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let one = try LocalVMPlugin(config: .object(["data_dir": .string(world.dataDir), "cgroup_parent": .string(world.cgroupParent),
                                                     "uid_pool_slices": 1]), host: .standalone())
        let a = "full-a-\(UInt16.random(in: 0 ... .max))", b = "full-b-\(UInt16.random(in: 0 ... .max))"
        _ = try one.create(world.request(a), call: .detached)
        expectPluginError(.quota) { try one.create(world.request(b), call: .detached) }
        #expect(!FileManager.default.fileExists(atPath: world.dataDir + "/sandboxes/\(b)"))
        #expect(one.uids.leases().map(\.0) == [a])
        try one.destroy(SandboxRef(sandboxId: a, backendRef: a), call: .detached)
        _ = try one.create(world.request(b), call: .detached)
        try one.destroy(SandboxRef(sandboxId: b, backendRef: b), call: .detached)
    }

    @Test("uid_pool_slices 0 keeps every sandbox in uid_base's range; a pool over uid_base is refused")
    func poolOffAndValidation() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let off = try LocalVMPlugin(config: .object(["data_dir": .string(world.dataDir), "cgroup_parent": .string(world.cgroupParent),
                                                     "uid_pool_slices": 0]), host: .standalone())
        let id = "off-\(UInt16.random(in: 0 ... .max))"
        _ = try off.create(world.request(id), call: .detached)
        let meta = try world.meta(id)
        #expect(meta.hostUidBase == nil && Self.hostUid(meta.initPid) == meta.uidBase)
        #expect(try world.exec(id, ["id", "-u"]).out == "0\n")
        try world.destroy(id)
        expectPluginError(.invalidRequest) {
            try LocalVMPlugin(config: .object(["data_dir": "/x", "uid_pool_base": 65536, "uid_pool_slices": 2]), host: .standalone())
        }
    }
}
