import FoundationEssentials
import Glibc
import Basics
import PluginProtocol

/// Sandbox ids: `sbx-` and 16 lowercase hex digits (also a valid hostname).
public enum SandboxID {
    public static func make() -> String { PrefixedHexID.make("sbx-") }
    public static func isWellFormed(_ id: String) -> Bool { PrefixedHexID.isWellFormed(id, prefix: "sbx-") }
}

/// Host-made ids: a prefix and 16 random lowercase hex digits (64 bits).
package enum PrefixedHexID {
    package static func make(_ prefix: String) -> String {
        var rng = SystemRandomNumberGenerator()
        return prefix + String(cFormat: "%016llx", rng.next() as UInt64)
    }

    package static func isWellFormed(_ id: String, prefix: String) -> Bool {
        let u = Array(id.utf8)
        guard u.count == prefix.utf8.count + 16, id.hasPrefix(prefix) else { return false }
        return u[prefix.utf8.count...].allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
