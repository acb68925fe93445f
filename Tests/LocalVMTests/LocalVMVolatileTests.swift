import Foundation
import Glibc
import PluginKit
import Testing
@testable import LocalVM

/// The sandbox's overlay root is mounted `volatile` where the kernel has it (Linux 5.10+): its
/// unmount, at the end of the sandbox's mount namespace, then skips the sync of the host file
/// system the upper dir lives on (the dir is thrown away at destroy).
@Suite("LocalVM volatile overlay", localVMAvailable)
struct LocalVMVolatileTests {
    /// Why the kernel cannot mount overlays `volatile` (before 5.10), nil when it can.
    static let kernelSkipReason: String? = {
        var name = utsname()
        guard uname(&name) == 0 else { return "uname failed" }
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        guard parts.count == 2 else { return "kernel release \(release) is not major.minor" }
        return (parts[0], parts[1]) >= (5, 10) ? nil : "overlayfs 'volatile' needs Linux 5.10+ (this is \(release))"
    }()

    @Test("the root overlay is mounted volatile", .enabled(if: kernelSkipReason == nil, Comment(rawValue: kernelSkipReason ?? "ok")))
    func rootIsVolatile() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "vol-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        // The sandbox's own view of its root: "overlay / overlay rw,...,fsync=volatile,..." (older
        // kernels print the option as "volatile").
        let root = try world.sh(id, "grep '^overlay / overlay ' /proc/mounts").out
        #expect(root.hasPrefix("overlay / overlay "), "\(root)")
        #expect(root.contains("volatile"), "\(root)")
        // It is still a working root: a write reads back.
        #expect(try world.sh(id, "echo kept > /vol-file && cat /vol-file").out == "kept\n")
        try world.destroy(id)
        try world.plugin.trash.drain()
        #expect(world.plugin.trash.entries.isEmpty, "\(world.plugin.trash.entries)")
    }
}
