import FoundationEssentials
import Glibc
import Core
import PluginProtocol

/// One line a plugin logged through the host's `log` callback, attributed to its backend.
public struct PluginLogLine: Sendable, Equatable {
    /// The backend whose load handed the plugin its host table (the plugin's own name when it was
    /// loaded for no backend, as by `plugin check`).
    public var backend: String
    /// `sbx_log_level`: 0 debug, 1 info, 2 warning, 3 error (anything else is shown as its number).
    public var level: Int32
    /// The message as one line, cut to `PluginLimits.messageBytes`.
    public var message: String
    /// The metadata object the plugin passed, as text (cut like the message); nil for none.
    public var metadataJSON: String?

    public init(backend: String, level: Int32, message: String, metadataJSON: String?) {
        self.backend = backend
        self.level = level
        self.message = message
        self.metadataJSON = metadataJSON
    }

    /// The level's name, as `SANDBOXER_LOG` spells it.
    public var levelName: String {
        PluginLogLevel(rawValue: level)?.name ?? "level \(level)"
    }

    /// The metadata as `key=value` pairs sorted by key; values that are not strings keep their JSON
    /// text. Metadata that is not a JSON object is shown whole under the key `metadata`.
    public var metadata: [(key: String, value: String)] {
        guard let text = metadataJSON, !text.isEmpty else { return [] }
        guard case .object(let object)? = JSONValue.parse(Data(text.utf8)) else {
            return [("metadata", text)]
        }
        return object.keys.sorted().map { key in
            let value = object[key] ?? .null
            if case .string(let string) = value { return (key, string) }
            return (key, String(value.rendered(pretty: false).dropLast()))
        }
    }

    /// How the CLI prints it: `plugin localvm: warning: message (sandbox_id=sbx-…, backend_ref=…)`.
    public var rendered: String {
        let pairs = metadata.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        return "plugin \(backend): \(levelName): \(message)" + (pairs.isEmpty ? "" : " (\(pairs))")
    }
}

/// The least severe plugin log level an operator sees: warning by default, everything with
/// `--verbose` or `SANDBOXER_LOG=debug`. (The levels themselves are PluginProtocol's, from the header.)
extension PluginLogLevel {
    /// The name `SANDBOXER_LOG` takes.
    public var name: String {
        switch self {
        case .debug: "debug"
        case .info: "info"
        case .warning: "warning"
        case .error: "error"
        }
    }

    /// The threshold for a command: debug with `verbose`, else `SANDBOXER_LOG` (debug, info, warning,
    /// error; anything else is ignored), else warning.
    public static func threshold(verbose: Bool, environment: [String: String]) -> PluginLogLevel {
        if verbose { return .debug }
        let asked = environment["SANDBOXER_LOG"]?.lowercased()
        return allCases.first { $0.name == asked } ?? .warning
    }

    /// Whether a line of raw level `level` is shown at this threshold (unknown levels always are).
    public func shows(_ level: Int32) -> Bool {
        guard let known = PluginLogLevel(rawValue: level) else { return true }
        return known >= self
    }
}
