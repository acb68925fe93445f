import FoundationEssentials
import Core
import Config
import Store
import HTTPClient
import Basics
import PluginProtocol
#if canImport(Glibc)
import Glibc
#endif

extension WebhookSecret {
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
