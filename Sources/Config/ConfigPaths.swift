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
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// The directory part of an absolute path (`/a/b/c.yaml` → `/a/b`).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = String(path[..<slash])
        return dir.isEmpty ? "/" : dir
    }
}
