import CLocalVM
import Foundation
import Glibc
import Testing
@testable import LocalVM

/// `MountTable` (the byte scan destroy and the trash use) finds exactly the mount points a plain
/// `String` split of the table finds (the reader it replaced, kept here as the reference), escapes included.
@Suite("LocalVM mount table")
struct LocalVMMountTableTests {
    @Test("the same mount points as a String split of the table, for every prefix of this host's table")
    func sameAsStringSplit() {
        var dirs = ["/", "/sys", "/sys/fs", "/sys/fs/cgroup", "/proc", "/tmp", "/dev", "/nonexistent", "/sy"]
        // Every mount point of this host's table, and its parent directory.
        let table = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count > 4 else { continue }
            let point = Self.unescape(String(fields[4]))
            dirs += [point, (point as NSString).deletingLastPathComponent]
        }
        for dir in dirs {
            // Both read the same snapshot of the table: other tests mount and unmount meanwhile.
            #expect(MountTable.points(under: dir, in: Array(table.utf8)) == Self.reference(under: dir, table), "\(dir)")
        }
    }

    /// The reader MountTable replaced: lines, then space-separated fields, as Strings.
    static func reference(under dir: String, _ table: String) -> [String] {
        table.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count > 4 else { return nil }
            let point = unescape(String(fields[4]))
            return point == dir || point.hasPrefix(dir + "/") ? point : nil
        }
    }

    /// mountinfo writes space, tab, newline and backslash as \ooo octal escapes.
    static func unescape(_ s: String) -> String {
        var bytes: [UInt8] = []
        let u = Array(s.utf8)
        var i = 0
        while i < u.count {
            if u[i] == 0x5c, i + 3 < u.count, let v = UInt8(String(decoding: u[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                bytes.append(v); i += 4
            } else { bytes.append(u[i]); i += 1 }
        }
        return String(decoding: bytes, as: UTF8.self)
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
