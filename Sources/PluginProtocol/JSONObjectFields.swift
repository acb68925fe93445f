import FoundationEssentials

/// Why a message could not be read from JSON: the same three cases, in the same words, that the host
/// and `PluginDispatch` report for a `DecodingError` ("missing key 'x'", "wrong type at 'x'",
/// "malformed JSON"), so an error a plugin author sees does not depend on which reader ran.
public enum JSONFieldError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed
    case missing(String)
    case wrongType(String)

    public var description: String {
        switch self {
        case .malformed: return "malformed JSON"
        case .missing(let key): return "missing key '\(key)'"
        case .wrongType(let key): return "wrong type at '\(key)'"
        }
    }
}

extension JSONFieldError {
    /// The fault a `DecodingError` names, in the same words (`PluginDispatch` and the host word it so).
    public init(decoding error: any Error) {
        switch error as? DecodingError {
        case .keyNotFound(let key, _)?: self = .missing(key.stringValue)
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?:
            self = .wrongType(context.codingPath.map(\.stringValue).joined(separator: "."))
        default: self = .malformed
        }
    }

    /// One line for a failed decode: a `DecodingError` in this type's words (Foundation's are
    /// multi-line and verbose), any other error as it describes itself.
    public static func describe(decoding error: any Error) -> String {
        error is DecodingError ? JSONFieldError(decoding: error).description : "\(error)"
    }
}

/// The members of one JSON object, read as typed fields without `Codable` (see `JSONObjectWriter`
/// for why). Decodes as `JSONDecoder` does for a synthesized `Decodable` struct: unknown members are
/// ignored, an absent or `null` optional member is nil, a required one must be present and not
/// `null`, and an integer must be a whole number in its type's range. (The text itself is read by
/// `JSONReader`, which also refuses a trailing comma; no writer of these messages writes one.)
public struct JSONObjectFields {
    private let members: [String: JSONValue]

    /// The object in `data`; empty data reads as `{}` (a request with no fields).
    public init(_ data: Data) throws(JSONFieldError) {
        if data.isEmpty { members = [:]; return }
        guard case .object(let members)? = JSONReader.parse(data) else { throw .malformed }
        self.members = members
    }

    /// Whether `json` holds a run of 16 or more ASCII digits: an integer that may be wider than the
    /// 53 bits `JSONReader`'s `Double` keeps exactly (every integer of up to 15 digits is below 2^53).
    /// Conservative: a string with such a run counts too (its reader then takes the slow, exact path).
    public static func mayHoldWideIntegers(_ json: Data) -> Bool {
        json.withUnsafeBytes { raw in
            var run = 0
            for byte in raw {
                if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                    run += 1
                    if run >= 16 { return true }
                } else {
                    run = 0
                }
            }
            return false
        }
    }

    /// `json` read by `JSONDecoder` when it may hold an integer wider than 2^53 (`mayHoldWideIntegers`),
    /// else nil: the caller then reads it with `JSONObjectFields`, whose numbers are `Double`s. So a
    /// message read without Codable keeps every integer exact.
    public static func decodedIfWide<T: Decodable>(_ type: T.Type, _ json: Data) throws(JSONFieldError) -> T? {
        guard mayHoldWideIntegers(json) else { return nil }
        do { return try JSONDecoder().decode(T.self, from: json) } catch { throw JSONFieldError(decoding: error) }
    }

    /// The fields of an object already read (a nested member).
    public init(members: [String: JSONValue]) { self.members = members }

    private func present(_ key: String) -> JSONValue? {
        switch members[key] {
        case nil, .null?: return nil
        case let value?: return value
        }
    }

    private func required(_ key: String) throws(JSONFieldError) -> JSONValue {
        guard let value = members[key] else { throw .missing(key) }
        if case .null = value { throw .wrongType(key) }
        return value
    }

    /// A required string.
    public func string(_ key: String) throws(JSONFieldError) -> String {
        guard case .string(let s) = try required(key) else { throw .wrongType(key) }
        return s
    }

    /// An optional string.
    public func optionalString(_ key: String) throws(JSONFieldError) -> String? {
        guard let value = present(key) else { return nil }
        guard case .string(let s) = value else { throw .wrongType(key) }
        return s
    }

    /// A required boolean.
    public func bool(_ key: String) throws(JSONFieldError) -> Bool {
        guard case .bool(let b) = try required(key) else { throw .wrongType(key) }
        return b
    }

    /// An optional boolean.
    public func optionalBool(_ key: String) throws(JSONFieldError) -> Bool? {
        guard let value = present(key) else { return nil }
        guard case .bool(let b) = value else { throw .wrongType(key) }
        return b
    }

    /// A required whole number that fits `type`.
    public func int<I: FixedWidthInteger>(_ key: String, as type: I.Type) throws(JSONFieldError) -> I {
        try Self.whole(try required(key), key, as: type)
    }

    /// An optional whole number that fits `type`.
    public func optionalInt<I: FixedWidthInteger>(_ key: String, as type: I.Type) throws(JSONFieldError) -> I? {
        guard let value = present(key) else { return nil }
        return try Self.whole(value, key, as: type)
    }

    private static func whole<I: FixedWidthInteger>(_ value: JSONValue, _ key: String, as type: I.Type) throws(JSONFieldError) -> I {
        guard case .number(let n) = value, let i = I(exactly: n) else { throw .wrongType(key) }
        return i
    }

    /// An optional number (`JSONDecoder` reads a whole or fractional JSON number into a `Double`).
    public func optionalDouble(_ key: String) throws(JSONFieldError) -> Double? {
        guard let value = present(key) else { return nil }
        guard case .number(let n) = value else { throw .wrongType(key) }
        return n
    }

    /// An optional nested object, as fields.
    public func optionalFields(_ key: String) throws(JSONFieldError) -> JSONObjectFields? {
        try optionalObject(key).map(JSONObjectFields.init(members:))
    }

    /// A required nested object, as fields.
    public func fields(_ key: String) throws(JSONFieldError) -> JSONObjectFields {
        JSONObjectFields(members: try object(key))
    }

    /// An optional array of objects, each as fields.
    public func optionalFieldsArray(_ key: String) throws(JSONFieldError) -> [JSONObjectFields]? {
        guard let value = present(key) else { return nil }
        guard case .array(let items) = value else { throw .wrongType(key) }
        var out: [JSONObjectFields] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard case .object(let members) = item else { throw .wrongType(key) }
            out.append(JSONObjectFields(members: members))
        }
        return out
    }

    /// An optional object of strings.
    public func optionalStringMap(_ key: String) throws(JSONFieldError) -> [String: String]? {
        guard present(key) != nil else { return nil }
        return try stringMap(key)
    }

    /// A required array of strings.
    public func strings(_ key: String) throws(JSONFieldError) -> [String] {
        guard case .array(let items) = try required(key) else { throw .wrongType(key) }
        var out: [String] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard case .string(let s) = item else { throw .wrongType(key) }
            out.append(s)
        }
        return out
    }

    /// An optional array of strings.
    public func optionalStrings(_ key: String) throws(JSONFieldError) -> [String]? {
        guard present(key) != nil else { return nil }
        return try strings(key)
    }

    /// A required object, its members as they are.
    public func object(_ key: String) throws(JSONFieldError) -> [String: JSONValue] {
        guard case .object(let members) = try required(key) else { throw .wrongType(key) }
        return members
    }

    /// An optional object, its members as they are.
    public func optionalObject(_ key: String) throws(JSONFieldError) -> [String: JSONValue]? {
        guard let value = present(key) else { return nil }
        guard case .object(let members) = value else { throw .wrongType(key) }
        return members
    }

    /// A required object of strings.
    public func stringMap(_ key: String) throws(JSONFieldError) -> [String: String] {
        guard case .object(let members) = try required(key) else { throw .wrongType(key) }
        var out: [String: String] = [:]
        out.reserveCapacity(members.count)
        for (name, member) in members {
            guard case .string(let s) = member else { throw .wrongType(key) }
            out[name] = s
        }
        return out
    }
}
