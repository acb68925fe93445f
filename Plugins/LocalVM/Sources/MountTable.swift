import Glibc
import PluginKit

/// The mount points under a directory, read from /proc/self/mountinfo as bytes, and detaching them.
///
/// Why bytes: splitting the table as Swift `String`s by `Character` (grapheme breaking) cost 17.9 M
/// instructions for a 120-line, 19.5 KB table (callgrind of one CLI `destroy`, 2026-11-30), and a
/// destroy read the table twice (`discard`, then the trash's `drain`): 36 M of the command's 59 M
/// (and 27–32% of all CPU samples of a create+destroy loop, `perf record`: "LocalVM create (session 6)"). This reads the same fields byte by byte: the
/// mount point is the fifth space-separated field, with space, tab, newline and backslash written
/// as `\ooo` octal escapes (proc_pid_mountinfo(5)).
enum MountTable {
    /// Mount points at or below `dir` (compared byte for byte), in table order.
    static func points(under dir: String) -> [String] {
        guard let table = FileOps.readAll("/proc/self/mountinfo") else { return [] }
        return points(under: dir, in: table)
    }

    /// Mount points at or below `dir` in `table` (mountinfo's text), in table order.
    static func points(under dir: String, in table: [UInt8]) -> [String] {
        let prefix = Array(dir.utf8)
        var result: [String] = []
        table.withUnsafeBufferPointer { bytes in
            var lineStart = 0
            while lineStart < bytes.count {
                var lineEnd = lineStart
                while lineEnd < bytes.count && bytes[lineEnd] != 0x0A { lineEnd += 1 }
                if let point = mountPoint(bytes, lineStart, lineEnd), isAtOrBelow(point, prefix) {
                    result.append(String(decoding: point, as: UTF8.self))
                }
                lineStart = lineEnd + 1
            }
        }
        return result
    }

    /// Detaches (`MNT_DETACH`) every mount at or below `dir`, deepest first; one already gone
    /// (EINVAL, ENOENT) counts as detached.
    static func detachAll(under dir: String) throws(PluginError) {
        for point in points(under: dir).sorted(by: { $0.utf8.count > $1.utf8.count }) {
            if umount2(point, Int32(MNT_DETACH)) != 0 && errno != EINVAL && errno != ENOENT {
                throw FileOps.failure("umount", point)
            }
        }
    }

    /// The unescaped fifth field of one line (bytes[start..<end]), or nil when the line has fewer.
    static func mountPoint(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> [UInt8]? {
        var i = start
        var field = 0
        while field < 4 {
            while i < end && bytes[i] != 0x20 { i += 1 }
            guard i < end else { return nil }
            i += 1
            field += 1
        }
        var out: [UInt8] = []
        while i < end && bytes[i] != 0x20 {
            if bytes[i] == 0x5C, i + 3 < end, let v = octal(bytes[i + 1], bytes[i + 2], bytes[i + 3]) {
                out.append(v)
                i += 4
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    static func octal(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8? {
        let digits = [a, b, c]
        guard digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x37 }) else { return nil }
        let v = Int(a - 0x30) * 64 + Int(b - 0x30) * 8 + Int(c - 0x30)
        return v <= 255 ? UInt8(v) : nil
    }

    static func isAtOrBelow(_ point: [UInt8], _ dir: [UInt8]) -> Bool {
        guard point.count >= dir.count, point.starts(with: dir) else { return false }
        return point.count == dir.count || point[dir.count] == 0x2F
    }
}
