import FoundationEssentials
import Glibc
import Basics
import PluginProtocol

/// A sink's HMAC secret as configured: the value itself, or where `serve` reads it at start.
///
/// Its description and reflection never show a literal value, so printing a `Config` or a sink
/// cannot leak it; errors about it name the variable or file, never the content.
public enum WebhookSecret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Written in the config file (discouraged outside tests: the file then holds a credential).
    case literal(String)
    /// `env:NAME`: the environment variable NAME of the serving process.
    case environment(String)
    /// `file:/path`: the file's content, without one trailing newline.
    case file(String)

    /// Largest secret file read, so a mistaken path to a big file fails fast.
    package static let maxFileBytes = 64 << 10

    public var description: String {
        switch self {
        case .literal: return "<literal, redacted>"
        case .environment(let name): return "env:\(name)"
        case .file(let path): return "file:\(path)"
        }
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror { Mirror(self, children: ["source": description]) }
}
