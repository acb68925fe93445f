import Basics
import PluginProtocol
/// Resource limits a profile asks of its backend; nil means "the backend's default".
public struct ResourceSpec: Sendable, Equatable {
    /// CPUs, possibly fractional (0.5 = half a CPU of quota).
    public var cpus: Double?
    public var memoryBytes: Int64?
    /// Maximum number of processes (tasks) inside the sandbox.
    public var pids: Int?
    /// Size limit of the sandbox's writable layer (`disk: 2G`).
    public var diskBytes: Int64?

    public init(cpus: Double? = nil, memoryBytes: Int64? = nil, pids: Int? = nil, diskBytes: Int64? = nil) {
        self.cpus = cpus; self.memoryBytes = memoryBytes; self.pids = pids; self.diskBytes = diskBytes
    }

    /// Parses `1024K`, `512M`, `2G`, `1T` (binary multiples) or a plain number of bytes; nil for
    /// anything else, zero, or a size that does not fit in 64 bits.
    public static func parseMemory(_ text: String) -> Int64? {
        var digits = Substring(text)
        var multiplier: Int64 = 1
        if let last = text.last, let power = ["K": 1, "M": 2, "G": 3, "T": 4][String(last)] {
            digits = digits.dropLast()
            multiplier = Int64(1) << (10 * power)
        }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let value = Int64(digits), value > 0
        else { return nil }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : bytes
    }
}
