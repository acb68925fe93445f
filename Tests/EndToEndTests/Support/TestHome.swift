import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A test's private directory under the temporary directory, removed when the last `CLIRunner` copy
/// holding it goes away: at the end of the test that made it, whether it passed, failed or threw
/// (suites used to leave thousands of `sandboxer-e2e-*` directories in /tmp).
///
/// A test inspects its home while its runner is in scope, so nothing it reads goes early. Set
/// `SANDBOXER_TEST_KEEP_HOMES=1` to keep every home for a post-mortem. A home with a mount under it
/// (a leaked LocalVM mount, which a leak scan reports) is kept whole: a recursive removal must never
/// walk into a mounted file system.
final class TestHome: Sendable {
    let path: String

    init(prefix: String) throws {
        path = NSTemporaryDirectory() + prefix + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { Self.remove(path) }

    /// Removes `path` unless asked to keep homes or something is mounted under it.
    static func remove(_ path: String) {
        guard ProcessInfo.processInfo.environment["SANDBOXER_TEST_KEEP_HOMES"] != "1" else { return }
        let mounted = mountPoints().filter { $0 == path || $0.hasPrefix(path + "/") }
        guard mounted.isEmpty else {
            FileHandle.standardError.write(Data("test home \(path) kept: \(mounted.count) mount(s) under it, e.g. \(mounted[0])\n".utf8))
            return
        }
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Every mount point of this mount namespace (/proc/self/mountinfo's fifth field, octal escapes
    /// undone). Read line by line to its end: procfs files are not read whole by every Foundation API.
    static func mountPoints() -> [String] {
        guard let file = fopen("/proc/self/mountinfo", "r") else { return [] }
        defer { fclose(file) }
        var points: [String] = []
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            let fields = String(cString: line).split(separator: " ")
            guard fields.count > 4 else { continue }
            points.append(unescape(String(fields[4])))
        }
        return points
    }

    /// Undoes mountinfo's `\ooo` escapes (space, tab, newline, backslash).
    static func unescape(_ field: String) -> String {
        var bytes: [UInt8] = []
        var rest = Array(field.utf8)[...]
        while let byte = rest.first {
            if byte == UInt8(ascii: "\\"), rest.count >= 4,
               let value = UInt8(String(decoding: rest.dropFirst().prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(value)
                rest = rest.dropFirst(4)
            } else {
                bytes.append(byte)
                rest = rest.dropFirst()
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
