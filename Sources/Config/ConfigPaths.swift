import Core
import YAMLSubset
import Basics
import PluginProtocol
/// Path handling for the config: `~` expansion and lexical resolution against a base directory.
/// Lexical (no filesystem access, no symlink resolution) so results are predictable and testable.
enum ConfigPaths {
    /// Expands a leading `~` or `~/` using `HOME`; nil when HOME is needed but unset.
    /// `~user` is not expanded (returns the path unchanged; it is then a relative path).
    static func expandTilde(_ path: String, environment: [String: String]) -> String? {
        guard path == "~" || path.hasPrefix("~/") else { return path }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return home + path.dropFirst()
    }

    /// `path` made absolute against `base` (itself made absolute against `cwd`), with `.`, `..` and
    /// repeated slashes removed.
    static func absolute(_ path: String, base: String, cwd: String) -> String {
        if path.hasPrefix("/") { return normalize(path) }
        let absoluteBase = base.hasPrefix("/") ? base : cwd + "/" + base
        return normalize(absoluteBase + "/" + path)
    }

    static func normalize(_ path: String) -> String {
        // On bytes: `split` and `joined` over `Substring`s cost every command ~0.2 M instructions of
        // first uses (docs/performance.md, session 8); "/" is one byte in UTF-8, so parts stay valid.
        var parts: [ArraySlice<UInt8>] = []
        let bytes = Array(path.utf8)
        var start = 0
        for i in 0 ... bytes.count where i == bytes.count || bytes[i] == UInt8(ascii: "/") {
            let part = bytes[start ..< i]
            start = i + 1
            if part.isEmpty || part.elementsEqual([UInt8(ascii: ".")]) { continue }
            if part.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                if !parts.isEmpty { parts.removeLast() }
                continue
            }
            parts.append(part)
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 1)
        for part in parts {
            out.append(UInt8(ascii: "/"))
            out.append(contentsOf: part)
        }
        return out.isEmpty ? "/" : String(decoding: out, as: UTF8.self)
    }

    /// The directory part of an absolute path (`/a/b/c.yaml` → `/a/b`).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = String(path[..<slash])
        return dir.isEmpty ? "/" : dir
    }
}
