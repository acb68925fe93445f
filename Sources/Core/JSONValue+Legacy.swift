import FoundationEssentials
import Glibc
import PluginProtocol

// Reading values that rows written before values were typed hold as strings: the store keeps rows
// of every earlier version, and the host reads them all.
extension JSONValue {
    /// `n` as an Int64 when it is a whole number JSON can carry exactly.
    static func wholeNumber(_ n: Double) -> Int64? {
        guard n.rounded() == n, abs(n) < 9.0e15 else { return nil }
        return Int64(n)
    }

    /// A whole number, or the decimal digits a row written before values were typed holds instead.
    package var looseInt64: Int64? {
        switch self {
        case .number(let n): JSONValue.wholeNumber(n)
        case .string(let s): Int64(s)
        default: nil
        }
    }

    /// A boolean, or the `"true"`/`"false"` a row written before values were typed holds instead.
    package var looseBool: Bool? {
        switch self {
        case .bool(let b): b
        case .string("true"): true
        case .string("false"): false
        default: nil
        }
    }

    /// The members of the JSON object `text` (a column the store keeps); nil when it is not one.
    package static func storedObject(_ text: String) -> [String: JSONValue]? {
        if text == "{}" { return [:] }   // the common case skips a decoder
        return JSONReader.object(text)   // not JSONDecoder: see JSONReader (Codable's first use per process)
    }

    /// Compact JSON text with sorted keys, as the store keeps it.
    package var storedText: String {
        var out = ""
        write(to: &out)
        return out
    }
}
