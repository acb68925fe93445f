import FoundationEssentials
import Glibc
import Basics
import PluginProtocol

/// An event's details: a JSON object whose values are typed (strings, and the booleans and integers
/// `SandboxEventType` names), kept in the store as compact, key-sorted JSON text.
public struct EventData: Sendable, Equatable, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    /// The members.
    public var fields: [String: JSONValue]

    public init(_ fields: [String: JSONValue] = [:]) { self.fields = fields }

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        fields = Dictionary(elements, uniquingKeysWith: { _, last in last })
    }

    /// One member; setting nil removes it.
    public subscript(key: String) -> JSONValue? {
        get { fields[key] }
        set { fields[key] = newValue }
    }

    /// A string member (nil when absent or not a string).
    public func string(_ key: String) -> String? { fields[key]?.stringValue }
    /// A boolean member (nil when absent or not a boolean).
    public func bool(_ key: String) -> Bool? { fields[key]?.boolValue }
    /// A whole-number member (nil when absent or not a whole number).
    public func integer(_ key: String) -> Int64? { fields[key]?.numberValue.flatMap(JSONValue.wholeNumber) }

    /// The data as the fronts embed it in an event.
    public var jsonValue: JSONValue { .object(fields) }

    /// Compact JSON text with sorted keys: what the store keeps and the `events` table prints.
    public var jsonText: String { jsonValue.storedText }

    public var description: String { jsonText }

    /// Data as the store holds it. Rows written before data was typed hold every value as a string
    /// (`"capped":"false"`, `"size_bytes":"523"`); the members `type` writes as booleans or integers
    /// are converted, so old and new rows read alike. Text that is not a JSON object reads as empty
    /// (the store only admits valid JSON, and the host only ever wrote objects).
    public init(storedJSON text: String, type: String) {
        guard var members = JSONValue.storedObject(text), !members.isEmpty else {
            self.init()
            return
        }
        if let known = SandboxEventType(rawValue: type) {
            for key in known.booleanFields { if let value = members[key]?.looseBool { members[key] = .bool(value) } }
            for key in known.integerFields {
                if let value = members[key]?.looseInt64 { members[key] = .number(Double(value)) }
            }
        }
        self.init(members)
    }
}
