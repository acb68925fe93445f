import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The end-to-end suites' homes go when their test ends, but never through a mount (`TestHome`).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["SANDBOXER_TEST_KEEP_HOMES"] != "1", "SANDBOXER_TEST_KEEP_HOMES=1 keeps homes"))
struct TestHomeTests {
    @Test func aRunnersHomeGoesWithItsLastCopy() throws {
        var path = ""
        var survivor: CLIRunner?
        do {
            let cli = try CLIRunner()
            path = cli.home
            try "x".write(toFile: path + "/file", atomically: true, encoding: .utf8)
            survivor = cli
        }
        #expect(FileManager.default.fileExists(atPath: path + "/file"), "the home went while a copy still held it")
        survivor = nil
        #expect(survivor == nil)
        #expect(!FileManager.default.fileExists(atPath: path), "the home outlived its last runner")
    }

    @Test(.enabled(if: Machine.isRoot, "mounting a tmpfs needs root"))
    func aHomeWithAMountUnderItIsKeptWhole() throws {
        let home = NSTemporaryDirectory() + "sandboxer-home-test-" + UUID().uuidString.prefix(8).lowercased()
        let mountPoint = home + "/data/mnt"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        defer { umount2(mountPoint, Int32(MNT_DETACH)); try? FileManager.default.removeItem(atPath: home) }
        #expect(mount("tmpfs", mountPoint, "tmpfs", 0, "size=1m") == 0, "mount: errno \(errno)")
        try "keep".write(toFile: mountPoint + "/inside", atomically: true, encoding: .utf8)
        #expect(TestHome.mountPoints().contains(mountPoint))
        TestHome.remove(home)
        #expect(FileManager.default.fileExists(atPath: mountPoint + "/inside"), "the removal walked into a mount")
        #expect(umount2(mountPoint, 0) == 0)
        TestHome.remove(home)
        #expect(!FileManager.default.fileExists(atPath: home))
    }

    @Test func mountinfoEscapesAreUndone() {
        #expect(TestHome.unescape(#"/tmp/a\040b\134c"#) == #"/tmp/a b\c"#)
        #expect(TestHome.unescape("/plain") == "/plain")
    }
}
