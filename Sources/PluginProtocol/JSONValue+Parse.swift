import FoundationEssentials
import Glibc

extension JSONValue {
    /// The JSON document in `bytes` (any value at the top, as `JSONSerialization` with fragments
    /// allowed), or nil when it is not JSON (strict RFC 8259: `JSONReader`, without Codable).
    public static func parse(_ bytes: Data) -> JSONValue? { JSONReader.parse(bytes) }

    /// True when `bytes` is a JSON document whose top value is an object (a syntax check that
    /// builds nothing: `JSONSyntax`).
    public static func isObject(_ bytes: Data) -> Bool { JSONSyntax.isObject(bytes) }
}
