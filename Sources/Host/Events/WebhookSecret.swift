import Foundation
#if canImport(Glibc)
import Glibc
#endif

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
    static let maxFileBytes = 64 << 10

    public var description: String {
        switch self {
        case .literal: return "<literal, redacted>"
        case .environment(let name): return "env:\(name)"
        case .file(let path): return "file:\(path)"
        }
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror { Mirror(self, children: ["source": description]) }

    /// The key bytes; fails with a sentence naming the source (never the value) when unreadable or empty.
    public func resolve(environment: [String: String], sink: String) throws(ConfigError) -> [UInt8] {
        let bytes: [UInt8]
        switch self {
        case .literal(let value):
            bytes = Array(value.utf8)
        case .environment(let name):
            guard let value = environment[name] else {
                throw ConfigError(code: .invalidValue, message: "The secret of webhook sink \(sink.quotedForMessage) comes from the environment variable \(name), which is not set.")
            }
            bytes = Array(value.utf8)
        case .file(let path):
            bytes = try Self.readFile(path, sink: sink)
        }
        guard !bytes.isEmpty else {
            throw ConfigError(code: .invalidValue, message: "The secret of webhook sink \(sink.quotedForMessage) (\(description)) is empty.")
        }
        return bytes
    }

    private static func readFile(_ path: String, sink: String) throws(ConfigError) -> [UInt8] {
        func fail(_ reason: String) -> ConfigError {
            ConfigError(code: .io, message: "Cannot read the secret of webhook sink \(sink.quotedForMessage) from \(path): \(reason).")
        }
        var bytes: [UInt8]
        switch BoundedFile.read(path, limit: maxFileBytes, limitText: "\(maxFileBytes >> 10) KiB") {
        case .success(let read): bytes = read
        case .failure(let failure): throw fail(failure.reason)
        }
        // `echo secret > file` adds a newline that is not part of the secret.
        if bytes.last == 10 { bytes.removeLast() }
        if bytes.last == 13 { bytes.removeLast() }
        return bytes
    }
}
