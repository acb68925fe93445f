import Basics
/// The content of one YAML node in the supported subset. Plain scalars stay strings: the reader of
/// the document decides what `true`, `42` or `1h` mean, because only it knows the field's type.
public enum YAMLValue: Sendable {
    /// `key:` with nothing after it (and no nested block), an empty `- ` item, or an empty document.
    case null
    /// A scalar's text after unquoting; `quoted` tells `"42"` (a string for sure) from `42`.
    case scalar(String, quoted: Bool)
    /// A block or flow sequence.
    case sequence([YAMLNode])
    /// A block or flow mapping, in document order (keys are unique: duplicates are a parse error).
    case mapping([(key: YAMLKey, value: YAMLNode)])
}

/// A mapping key and where it was written, so errors about a key point at the key.
public struct YAMLKey: Sendable, Equatable {
    public var name: String
    public var line: Int
    public var column: Int

    public init(_ name: String, line: Int, column: Int) { self.name = name; self.line = line; self.column = column }
}

/// A value and where it starts in the document (1-based line and column).
public struct YAMLNode: Sendable, Equatable {
    public var value: YAMLValue
    public var line: Int
    public var column: Int

    public init(_ value: YAMLValue, line: Int, column: Int) { self.value = value; self.line = line; self.column = column }

    /// The entries when this node is a mapping.
    public var mappingEntries: [(key: YAMLKey, value: YAMLNode)]? {
        if case .mapping(let entries) = value { return entries } else { return nil }
    }

    /// The items when this node is a sequence.
    public var sequenceItems: [YAMLNode]? {
        if case .sequence(let items) = value { return items } else { return nil }
    }

    /// The text when this node is a scalar (quoted or not).
    public var scalarText: String? {
        if case .scalar(let text, _) = value { return text } else { return nil }
    }

    /// Member lookup on a mapping; nil for a missing key or a non-mapping.
    public subscript(key: String) -> YAMLNode? {
        mappingEntries?.first(where: { $0.key.name == key })?.value
    }
}

extension YAMLValue: Equatable {
    /// Structural equality, locations of nested nodes included (tuples are not Equatable, hence by hand).
    public static func == (lhs: YAMLValue, rhs: YAMLValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.scalar(a, qa), .scalar(b, qb)): return a == b && qa == qb
        case let (.sequence(a), .sequence(b)): return a == b
        case let (.mapping(a), .mapping(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }
}

extension YAMLNode: CustomStringConvertible {
    /// A compact one-line rendering without locations, for tests and debugging:
    /// `{a: x, "b": [1, ~]}`; quoted scalars print quoted, null prints `~`.
    public var description: String {
        switch value {
        case .null: return "~"
        case .scalar(let text, let quoted): return quoted ? text.quotedForMessage : text
        case .sequence(let items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .mapping(let entries):
            return "{" + entries.map { "\($0.key.name): \($0.value.description)" }.joined(separator: ", ") + "}"
        }
    }
}
