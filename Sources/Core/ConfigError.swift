import Basics
import PluginProtocol
/// A configuration problem: a code, one sentence, and where it is when that is known.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, for callers that react differently (exit codes, HTTP statuses, tests).
    public enum Code: String, Sendable {
        /// The YAML itself is malformed or outside the supported subset.
        case syntax
        /// A value has the wrong type or an invalid content (a bad name, size, network…).
        case invalidValue
        /// A required key is absent.
        case missingKey
        /// A key that the format does not know (usually a typo).
        case unknownKey
        /// The file could not be read.
        case io
        /// A TTL duration that does not follow the grammar.
        case invalidDuration
    }

    public var code: Code
    /// One sentence, ending with a full stop.
    public var message: String
    public var file: String?
    public var line: Int?
    public var column: Int?

    public init(code: Code, message: String, file: String? = nil, line: Int? = nil, column: Int? = nil) {
        self.code = code; self.message = message; self.file = file; self.line = line; self.column = column
    }

    /// `file:line:column: message` when located, `file: message` with only a file, else the message.
    public var description: String {
        switch (file, line, column) {
        case let (file?, line?, column?): return "\(file):\(line):\(column): \(message)"
        case let (file?, line?, nil): return "\(file):\(line): \(message)"
        case let (file?, nil, _): return "\(file): \(message)"
        default: return message
        }
    }

    /// The same error pointing at a node (keeps an existing location).
    package func located(file: String, line: Int, column: Int) -> ConfigError {
        guard self.line == nil else { return self }
        var copy = self
        copy.file = file; copy.line = line; copy.column = column
        return copy
    }
}
