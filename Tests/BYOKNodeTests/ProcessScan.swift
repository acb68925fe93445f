import CLocalVM
import Foundation
import Glibc

/// Host processes seen through /proc, for proving a command is gone.
enum ProcessScan {
    /// Pids whose argv is exactly `argv` and that have not exited (zombies, which the host's slow
    /// reaper may leave for a while, count as gone).
    static func live(argv: [String]) -> [Int32] {
        let want = Data(argv.joined(separator: "\0").utf8) + Data([0])
        var found: [Int32] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(name),
                  let cmd = FileManager.default.contents(atPath: "/proc/\(name)/cmdline"), cmd == want,
                  isLive(pid) else { continue }
            found.append(pid)
        }
        return found
    }

    /// True when the process exists and is not a zombie.
    static func isLive(_ pid: Int32) -> Bool {
        guard let stat = FileManager.default.contents(atPath: "/proc/\(pid)/stat"),
              let text = String(data: stat, encoding: .utf8), let close = text.lastIndex(of: ")") else { return false }
        let state = text[text.index(close, offsetBy: 2)...].first
        return state != "Z" && state != "X"
    }

    /// Waits on a pidfd of `pid` until it exits, at most `ms`: true when it did (or was already gone).
    static func waitExit(_ pid: Int32, ms: Int32) -> Bool {
        let fd = clvm_pidfd_open(pid)
        if fd < 0 { return true }
        defer { close(fd) }
        return clvm_pidfd_wait_exit(fd, ms) == 1
    }

    /// Mount points (mountinfo field 5) at or below `dir` in this process's namespace.
    static func mounts(under dir: String) -> [String] {
        guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard f.count > 4 else { return nil }
            let point = String(f[4])
            return point == dir || point.hasPrefix(dir + "/") ? point : nil
        }
    }
}
