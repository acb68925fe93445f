import CLocalVM
import Foundation
import Glibc
import Testing
@testable import LocalVM

/// `MountTable` (the byte scan destroy and the trash use) finds exactly the mount points the
/// `String`-splitting `LocalVMPlugin.mountPoints(under:)` finds, escapes included.
@Suite("LocalVM mount table")
struct LocalVMMountTableTests {
    @Test("the same mount points as LocalVMPlugin.mountPoints for every prefix of this host's table")
    func sameAsStringSplit() {
        var dirs = ["/", "/sys", "/sys/fs", "/sys/fs/cgroup", "/proc", "/tmp", "/dev", "/nonexistent", "/sy"]
        // Every mount point of this host's table, and its parent directory.
        let table = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count > 4 else { continue }
            let point = LocalVMPlugin.unescapeMountField(String(fields[4]))
            dirs += [point, (point as NSString).deletingLastPathComponent]
        }
        for dir in dirs {
            #expect(MountTable.points(under: dir) == LocalVMPlugin.mountPoints(under: dir), "\(dir)")
        }
    }

    @Test("the fifth field, octal escapes decoded; short lines have none")
    func parsesLines() {
        func point(_ line: String) -> String? {
            let bytes = Array(line.utf8)
            return bytes.withUnsafeBufferPointer { MountTable.mountPoint($0, 0, $0.count) }.map { String(decoding: $0, as: UTF8.self) }
        }
        #expect(point(#"36 35 98:0 /mnt1 /mnt\040with\040space rw,noatime master:1 - ext3 /dev/root rw"#) == "/mnt with space")
        #expect(point(#"36 35 98:0 / /a\134b\011c rw - tmpfs x rw"#) == "/a\\b\tc")
        #expect(point(#"36 35 98:0 / /bad\999esc rw - tmpfs x rw"#) == #"/bad\999esc"#)
        #expect(point("36 35 98:0 / /last") == "/last")
        #expect(point("36 35 98:0 /") == nil)
        #expect(MountTable.isAtOrBelow(Array("/a/b".utf8), Array("/a".utf8)))
        #expect(MountTable.isAtOrBelow(Array("/a".utf8), Array("/a".utf8)))
        #expect(!MountTable.isAtOrBelow(Array("/ab".utf8), Array("/a".utf8)))
    }

    @Test("a mount whose path has a space is found and detached", .enabled(if: getuid() == 0))
    func detachesEscapedPaths() throws {
        let dir = NSTemporaryDirectory() + "mount table \(getpid())"
        try FileOps.mkdirs(dir + "/in side", mode: 0o755)
        defer { _ = clvm_remove_tree(dir) }
        try #require(mount("tmpfs", dir + "/in side", "tmpfs", 0, "size=64k") == 0)
        #expect(MountTable.points(under: dir) == [dir + "/in side"])
        try MountTable.detachAll(under: dir)
        #expect(MountTable.points(under: dir).isEmpty)
    }
}
