import FoundationEssentials
import Glibc
import Basics

/// Caps on what the host takes from a plugin, so a buggy or hostile plugin cannot flood the
/// terminal, the log or the store (docs/plugins.md, "What the host does with answers").
public enum PluginLimits {
    /// Bytes of an error message or log line the host keeps (4 KiB); the rest is cut with a marker.
    public static let messageBytes = 4096
    /// The default cap on a success response (16 MiB); a backend's `max_response` changes it.
    public static let defaultResponseBytes = 16 << 20

    /// `bytes` (the first bytes of a text of `total` bytes) as one line: newlines become spaces,
    /// and anything past `limit` bytes is cut on a UTF-8 boundary, ending in "… (N bytes cut)".
    public static func oneLine(_ bytes: Data, total: Int? = nil, limit: Int = messageBytes) -> String {
        let total = max(total ?? bytes.count, bytes.count)
        var keep = min(bytes.count, limit)
        if total > keep {
            // Back off to the start of the character the cut would split: a continuation byte
            // (10xxxxxx) at the cut means the character began before it.
            let start = bytes.startIndex
            while keep > 0, keep < bytes.count, bytes[start + keep] & 0xC0 == 0x80 { keep -= 1 }
        }
        let text = String(decoding: bytes.prefix(keep), as: UTF8.self)
            .split(whereSeparator: \.isNewline).joined(separator: " ")
            .trimmingSpaces()
        return total > keep ? text + "… (\(total - keep) bytes cut)" : text
    }

    /// "16 MiB", "4 KiB", "1000 bytes": a byte count as the messages print it.
    public static func describe(bytes: Int) -> String {
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10, bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }
}
