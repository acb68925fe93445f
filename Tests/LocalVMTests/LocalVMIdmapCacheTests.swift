import Foundation
import Glibc
import PluginKit
import Testing
@testable import LocalVM

/// The idmapped layers' user namespaces, kept per id slice (IdmapNamespaces): made once, reused by
/// the next sandbox in the same slice with the same result as a fresh one, never shared between
/// slices, closed with the instance.
@Suite("LocalVM idmap namespaces per slice", localVMAvailable)
struct LocalVMIdmapCacheTests {
    /// What `/proc/self/fd/<fd>` points at ("user:[4026532…]"), or nil.
    static func fdTarget(_ fd: Int32) -> String? {
        var buf = [CChar](repeating: 0, count: 256)
        let n = readlink("/proc/self/fd/\(fd)", &buf, buf.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    @Test("a slice's namespace is made once; the next sandbox of that slice maps exactly like the first; another slice gets its own")
    func reusedPerSlice() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let cache = world.plugin.idmapNamespaces
        #expect(cache.count == 0)
        let a = "nsa-\(UInt16.random(in: 0 ... .max))", b = "nsb-\(UInt16.random(in: 0 ... .max))"
        let c = "nsc-\(UInt16.random(in: 0 ... .max))"
        try world.create(a)
        let ma = try world.meta(a)
        #expect(cache.count == 1)
        try world.destroy(a)
        // The next sandbox gets slice 0 again, and with it the kept namespace.
        try world.create(b)
        let mb = try world.meta(b)
        #expect(mb.hostUidBase == ma.hostUidBase)
        #expect(cache.count == 1)
        // A second live sandbox takes slice 1: a namespace of its own, and a host range of its own.
        try world.create(c)
        let mc = try world.meta(c)
        #expect(cache.count == 2)
        #expect(mc.hostUidBase != mb.hostUidBase)
        let ub = try #require(LocalVMUidTests.hostUid(mb.initPid)), uc = try #require(LocalVMUidTests.hostUid(mc.initPid))
        #expect(ub == mb.hostUidBase && uc == mc.hostUidBase && ub != uc)
        // Inside each: the image is owned by root and what root writes lands in the shared on-disk
        // range, as with a namespace made for the create.
        for (id, meta) in [(b, mb), (c, mc)] {
            let r = try world.sh(id, "stat -c '%u %g' /etc/passwd /bin; touch /mine && chown 7:7 /mine && stat -c %u /mine")
            #expect(r.out == "0 0\n0 0\n7\n", "\(id): \(r.out) \(r.err)")
            let layout = try SandboxLayout(dataDir: world.dataDir, sandboxId: id)
            var st = stat()
            #expect(stat(layout.upper + "/mine", &st) == 0 && st.st_uid == meta.uidBase + 7, "\(id): owner \(st.st_uid)")
        }
        try world.destroy(b)
        try world.destroy(c)
    }

    @Test("the kept namespaces close with the instance")
    func closedWithInstance() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let map = LocalVMConfig(dataDir: world.dataDir).idmapLine(hostBase: LocalVMConfig.defaultUidPoolBase)
        var fd: Int32 = -1
        var target: String?
        do {
            let cache = IdmapNamespaces()
            fd = try cache.fd(for: map)
            #expect(try cache.fd(for: map) == fd)
            target = Self.fdTarget(fd)
            #expect(target?.hasPrefix("user:[") == true, "\(target ?? "nil")")
        }
        // Released: the fd is closed (or, if another thread reused the number meanwhile, it is not this namespace).
        #expect(Self.fdTarget(fd) != target)
    }
}
