import Foundation
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
    static func startTime(of pid: Int32) -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the command name: field 3 is at index 0, so field 22 is at index 19.
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }

    /// Whether this process is still running.
    var isAlive: Bool { Self.startTime(of: pid) == startTime }
}
