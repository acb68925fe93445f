import Core
import YAMLSubset
import Basics
import PluginProtocol
/// Typed access to YAML nodes for the loader: every failure becomes a ConfigError that points at the
/// node (or key) and names the field in words an operator recognises.
struct ConfigReader {
    let file: String

    func fail(_ code: ConfigError.Code, _ message: String, at node: YAMLNode) -> ConfigError {
        ConfigError(code: code, message: message, file: file, line: node.line, column: node.column)
    }

    func fail(_ code: ConfigError.Code, _ message: String, at key: YAMLKey) -> ConfigError {
        ConfigError(code: code, message: message, file: file, line: key.line, column: key.column)
    }

    /// `key:` with nothing, or an unquoted `null`, `Null`, `NULL` or `~`.
    func isNull(_ node: YAMLNode) -> Bool {
        switch node.value {
        case .null: return true
        case .scalar(let text, let quoted): return !quoted && ["null", "Null", "NULL", "~"].contains(text)
        default: return false
        }
    }

    /// How a node looks, for "found …" in messages.
    func describe(_ node: YAMLNode) -> String {
        switch node.value {
        case .null: return "nothing"
        case .scalar(let text, _): return "the value \(text.quotedForMessage)"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }

    /// The entries of a mapping; null counts as an empty mapping.
    func mapping(_ node: YAMLNode, _ what: String) throws(ConfigError) -> [(key: YAMLKey, value: YAMLNode)] {
        if isNull(node) { return [] }
        guard let entries = node.mappingEntries else {
            throw fail(.invalidValue, "Expected a mapping for \(what), found \(describe(node)).", at: node)
        }
        return entries
    }

    /// A scalar's text (plain or quoted); with `nonEmpty`, "" is refused too.
    func string(_ node: YAMLNode, _ what: String, nonEmpty: Bool = true) throws(ConfigError) -> String {
        guard let text = node.scalarText, !isNull(node) else {
            throw fail(.invalidValue, "Expected a string for \(what), found \(describe(node)).", at: node)
        }
        if nonEmpty, text.isEmpty { throw fail(.invalidValue, "The value of \(what) must not be empty.", at: node) }
        return text
    }

    /// An optional string: absent or null is nil.
    func optionalString(_ node: YAMLNode?, _ what: String) throws(ConfigError) -> String? {
        guard let node, !isNull(node) else { return nil }
        return try string(node, what)
    }

    /// An optional whole number of at least `min` (decimal digits only, at most 9 of them): absent or null is nil.
    func optionalInt(_ node: YAMLNode?, _ what: String, min: Int) throws(ConfigError) -> Int? {
        guard let node, !isNull(node) else { return nil }
        guard let text = node.scalarText, !text.isEmpty, text.count <= 9, text.allSatisfy({ $0.isASCII && $0.isNumber }),
              let value = Int(text), value >= min else {
            throw fail(.invalidValue, "Expected a whole number of at least \(min) for \(what), found \(describe(node)).", at: node)
        }
        return value
    }

    /// A duration scalar, with the parse error moved onto the node.
    func duration(_ node: YAMLNode, _ what: String) throws(ConfigError) -> TTLDuration {
        guard let text = node.scalarText, !isNull(node) else {
            throw fail(.invalidValue, "Expected a duration (like 30m, 4h or 1d) for \(what), found \(describe(node)).", at: node)
        }
        do {
            return try TTLDuration.parse(text)
        } catch {
            throw error.located(file: file, line: node.line, column: node.column)
        }
    }

    /// Refuses keys outside `allowed`, suggesting the closest allowed one.
    func checkKeys(_ entries: [(key: YAMLKey, value: YAMLNode)], allowed: [String], _ context: String) throws(ConfigError) {
        for (key, _) in entries where !allowed.contains(key.name) {
            let hint = Self.closest(to: key.name, in: allowed).map { " (did you mean \($0.quotedForMessage)?)" } ?? ""
            throw fail(.unknownKey, "Unknown key \(key.name.quotedForMessage) \(context)\(hint); allowed keys are \(allowed.joined(separator: ", ")).",
                       at: key)
        }
    }

    /// Checks a backend or profile name against `[a-z0-9][a-z0-9_-]{0,62}`.
    func checkName(_ key: YAMLKey, _ kind: String) throws(ConfigError) {
        let bytes = Array(key.name.utf8)
        let ok = (1...63).contains(bytes.count) && bytes.enumerated().allSatisfy { index, b in
            (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
                || (index > 0 && (b == UInt8(ascii: "_") || b == UInt8(ascii: "-")))
        }
        if !ok {
            throw fail(.invalidValue, "Invalid \(kind) name \(key.name.quotedForMessage): names are 1 to 63 characters of a-z, 0-9, \"_\" and \"-\", starting with a letter or digit.",
                       at: key)
        }
    }

    /// The allowed word within edit distance 2 (and less than half the word), if any: typo protection.
    static func closest(to word: String, in candidates: [String]) -> String? {
        let best = candidates.map { ($0, editDistance(word, $0)) }.min { $0.1 < $1.1 }
        guard let (candidate, distance) = best, distance <= 2, distance * 2 < max(word.count, candidate.count) else { return nil }
        return candidate
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
