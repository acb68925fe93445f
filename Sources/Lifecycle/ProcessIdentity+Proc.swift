import FoundationEssentials
import Core
import Config
import Store
import Backends
import PluginProtocol
import Basics
#if canImport(Glibc)
import Glibc
#endif

extension ProcessIdentity {
    /// This process.
    static func current() -> ProcessIdentity {
        let pid = getpid()
        return ProcessIdentity(pid: pid, startTime: startTime(of: pid) ?? 0)
    }

    /// Field 22 of /proc/PID/stat (clock ticks since boot), nil when the process is gone.
    static func startTime(of pid: Int32) -> UInt64? { stat(of: pid)?.startTime }

    /// The state letter (field 3) and start time (field 22) of /proc/PID/stat; nil when the process
    /// is gone or the file does not read.
    static func stat(of pid: Int32) -> (state: Character, startTime: UInt64)? {
        guard pid > 0, let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // The command name may hold spaces and parentheses: fields are counted after its last ")".
        let fields = text[text.index(after: close)...].split(separator: " ")
        // Field 3 is at index 0, so field 22 is at index 19.
        guard fields.count > 19, let state = fields[0].first, let start = UInt64(fields[19]) else { return nil }
        return (state, start)
    }

    /// Whether this process is still running. A zombie (`Z`) or a dying process (`X`) is not: its
    /// stat file still reads, with the same start time, until its parent reaps it, and that can be
    /// long after it stopped doing any work.
    var isAlive: Bool {
        guard let stat = Self.stat(of: pid), stat.startTime == startTime else { return false }
        return stat.state != "Z" && stat.state != "X"
    }
}
