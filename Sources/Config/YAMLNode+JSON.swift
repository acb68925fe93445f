import Core
import YAMLSubset
import Basics
import PluginProtocol

extension YAMLNode {
    /// The node as JSON, the way a plugin's free-form config is handed over. Unquoted scalars are
    /// typed by the YAML 1.2 core schema: `true`/`false` → bool, decimal integers and floats → number,
    /// `null`/`~`/nothing → null; everything else, and every quoted scalar, is a string. Integers
    /// beyond ±2^53 and `.inf`/`.nan` stay strings because a JSON number cannot carry them exactly.
    public var jsonValue: JSONValue {
        switch value {
        case .null: return .null
        case .sequence(let items): return .array(items.map(\.jsonValue))
        case .mapping(let entries):
            var object: [String: JSONValue] = [:]
            for (key, value) in entries { object[key.name] = value.jsonValue }
            return .object(object)
        case .scalar(let text, let quoted):
            if quoted { return .string(text) }
            switch text {
            case "null", "Null", "NULL", "~": return .null
            case "true", "True", "TRUE": return .bool(true)
            case "false", "False", "FALSE": return .bool(false)
            default: return Self.number(text).map(JSONValue.number) ?? .string(text)
            }
        }
    }

    /// `[-+]?[0-9]+` (exact within 2^53) or `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
    static func number(_ text: String) -> Double? {
        var s = Substring(text)
        if s.first == "-" || s.first == "+" { s = s.dropFirst() }
        let isDigit: (Character) -> Bool = { $0.isASCII && $0.isNumber }
        let intPart = s.prefix(while: isDigit)
        s = s.dropFirst(intPart.count)
        var fracPart: Substring = ""
        var hasDot = false
        if s.first == "." {
            hasDot = true
            s = s.dropFirst()
            fracPart = s.prefix(while: isDigit)
            s = s.dropFirst(fracPart.count)
        }
        guard !intPart.isEmpty || !fracPart.isEmpty else { return nil }
        var hasExponent = false
        if s.first == "e" || s.first == "E" {
            hasExponent = true
            s = s.dropFirst()
            if s.first == "-" || s.first == "+" { s = s.dropFirst() }
            let expDigits = s.prefix(while: isDigit)
            guard !expDigits.isEmpty else { return nil }
            s = s.dropFirst(expDigits.count)
        }
        guard s.isEmpty, let value = Double(text), value.isFinite else { return nil }
        if !hasDot, !hasExponent {
            // Decide on the exact integer: the Double has already rounded 2^53 + 1 down to 2^53.
            guard let exact = Int64(text), exact.magnitude <= 1 << 53 else { return nil }
        }
        return value
    }
}
