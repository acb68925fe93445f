import Basics
/// A YAML syntax error: where it is (1-based line and column) and what is wrong, in one sentence.
public struct YAMLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of mistake the document makes.
    public enum Code: String, Sendable {
        /// Malformed syntax: a missing ":", unexpected text, an unclosed quote or flow collection.
        case syntax
        /// A tab used for indentation.
        case tab
        /// Indentation that matches no enclosing block.
        case indentation
        /// A mapping key that appears twice.
        case duplicateKey
        /// Valid YAML outside the supported subset: anchors, aliases, tags, block scalars, documents.
        case unsupported
    }

    public var code: Code
    /// One sentence, ending with a full stop.
    public var message: String
    /// The file name used in the description (as given to the parser).
    public var file: String
    /// 1-based line.
    public var line: Int
    /// 1-based column, counted in Unicode scalars.
    public var column: Int

    public init(code: Code, message: String, file: String, line: Int, column: Int) {
        self.code = code; self.message = message; self.file = file; self.line = line; self.column = column
    }

    /// `file:line:column: message`, the form editors and compilers use.
    public var description: String { "\(file):\(line):\(column): \(message)" }
}
