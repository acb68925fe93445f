import FoundationEssentials

/// Writes one flat JSON object byte for byte as `JSONEncoder` with `.sortedKeys` writes it, without
/// `Codable`: members are written in the order they are given, so callers name them in sorted order.
///
/// Why: the first `JSONEncoder` use of a message type in a process resolves its generic metadata and
/// conformances (`swift_getTypeByMangledName`, `swift_conformsToProtocol`), which a one-shot CLI pays
/// at every `exec`; the exec-stream messages are flat and few, so they are written by hand here and
/// `ExecStreamJSONTests` compares every one with `JSONEncoder`'s bytes. Strings are escaped as
/// `JSONEncoder` escapes them: `"`, `\`, `/`, the named control escapes, `\u00xx` for the others.
public struct JSONObjectWriter {
    private var bytes: [UInt8] = [UInt8(ascii: "{")]
    private var first = true
    /// Set when a number had no JSON form (`document` then answers nil).
    private var nonFinite = false

    public init(capacity: Int = 128) { bytes.reserveCapacity(capacity) }

    /// The finished object.
    public mutating func finish() -> Data {
        bytes.append(UInt8(ascii: "}"))
        return Self.data(bytes)
    }

    /// `Data(buffer:)`, not `Data(_: some Sequence)`: the generic initializer asks the runtime whether
    /// the sequence is `ContiguousBytes` (a conformance lookup that scans every image the first time).
    static func data(_ bytes: [UInt8]) -> Data { bytes.withUnsafeBufferPointer { Data(buffer: $0) } }

    private mutating func key(_ name: StaticString) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }

    /// A string member.
    public mutating func string(_ name: StaticString, _ value: String) {
        key(name)
        quote(value)
    }

    /// A string member, left out when nil (as `Codable`'s synthesized `encodeIfPresent` does).
    public mutating func string(_ name: StaticString, _ value: String?) {
        if let value { string(name, value) }
    }

    /// An integer member; left out when nil.
    public mutating func int(_ name: StaticString, _ value: Int64?) {
        guard let value else { return }
        key(name)
        bytes.append(contentsOf: String(value).utf8)
    }

    /// A number member as `JSONEncoder` writes a `Double` (a whole number without a fraction); left
    /// out when nil. A number JSON cannot carry (infinite, NaN) makes `document`-style callers fail:
    /// see `isFinite`.
    public mutating func double(_ name: StaticString, _ value: Double?) {
        guard let value else { return }
        key(name)
        write(.number(value))
    }

    /// A nested object written by `body` with a writer of its own (members in sorted order, as here).
    public mutating func object(_ name: StaticString, _ body: (inout JSONObjectWriter) -> Void) {
        key(name)
        appendObject(body)
    }

    /// An array of objects, each written by `body` with a writer of its own.
    public mutating func objects<T>(_ name: StaticString, _ items: [T], _ body: (inout JSONObjectWriter, T) -> Void) {
        key(name)
        bytes.append(UInt8(ascii: "["))
        for (i, item) in items.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            appendObject { body(&$0, item) }
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// Appends the object `body` writes with a writer of its own (and whether its numbers were finite).
    private mutating func appendObject(_ body: (inout JSONObjectWriter) -> Void) {
        var inner = JSONObjectWriter()
        body(&inner)
        inner.bytes.append(UInt8(ascii: "}"))
        bytes.append(contentsOf: inner.bytes)
        nonFinite = nonFinite || inner.nonFinite
    }

    /// False once a number without a JSON form (infinite, NaN) was written (as `null`), which
    /// `JSONEncoder` refuses to encode at all.
    public var isFinite: Bool { !nonFinite }

    /// An unsigned integer member (the whole `UInt64` range, as `JSONEncoder` writes it); left out when nil.
    public mutating func uint(_ name: StaticString, _ value: UInt64?) {
        guard let value else { return }
        key(name)
        bytes.append(contentsOf: String(value).utf8)
    }

    /// A boolean member; left out when nil.
    public mutating func bool(_ name: StaticString, _ value: Bool?) {
        guard let value else { return }
        key(name)
        bytes.append(contentsOf: value ? Array("true".utf8) : Array("false".utf8))
    }

    /// An array of strings.
    public mutating func strings(_ name: StaticString, _ values: [String]) {
        key(name)
        bytes.append(UInt8(ascii: "["))
        for (i, value) in values.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            quote(value)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// A string-to-string object, keys sorted as `JSONEncoder`'s `.sortedKeys` sorts them.
    public mutating func stringMap(_ name: StaticString, _ map: [String: String]) {
        key(name)
        bytes.append(UInt8(ascii: "{"))
        for (i, entry) in map.sorted(by: { $0.key < $1.key }).enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            quote(entry.key)
            bytes.append(UInt8(ascii: ":"))
            quote(entry.value)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    /// A `JSONValue` member (left out when nil), written as `JSONValue`'s `Encodable` conformance
    /// writes it through `JSONEncoder` with `.sortedKeys`: whole numbers without a fraction.
    public mutating func value(_ name: StaticString, _ value: JSONValue?) {
        guard let value else { return }
        key(name)
        write(value)
    }

    /// An object of `JSONValue`s; left out when nil.
    public mutating func object(_ name: StaticString, _ members: [String: JSONValue]?) {
        guard let members else { return }
        value(name, .object(members))
    }

    /// An array of strings; left out when nil.
    public mutating func strings(_ name: StaticString, _ values: [String]?) {
        if let values { strings(name, values) }
    }

    /// `value` alone as JSON text (the document `JSONEncoder` gives for it with `.sortedKeys`); nil
    /// when it holds a number JSON cannot carry (infinite or NaN), which `JSONEncoder` refuses too.
    public static func document(_ value: JSONValue) -> Data? {
        var w = JSONObjectWriter()
        w.bytes = []
        w.write(value)
        return w.nonFinite ? nil : data(w.bytes)
    }

    private mutating func write(_ value: JSONValue) {
        switch value {
        case .null: bytes.append(contentsOf: "null".utf8)
        case .bool(let b): bytes.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n):
            if n.rounded() == n, abs(n) < 9.0e15 {
                bytes.append(contentsOf: String(Int64(n)).utf8)
            } else if n.isFinite {
                bytes.append(contentsOf: String(n).utf8)
            } else {
                bytes.append(contentsOf: "null".utf8)
                nonFinite = true
            }
        case .string(let s): quote(s)
        case .array(let items):
            bytes.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                write(item)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            for (i, key) in members.keys.sorted().enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                quote(key)
                bytes.append(UInt8(ascii: ":"))
                if let member = members[key] { write(member) }
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    /// `value` as a JSON string literal; runs of bytes that need no escape are copied whole (a
    /// base64 payload of a megabyte is a few thousand runs between its escaped `/`s). A pointer loop,
    /// so that it stays cheap in debug builds (the tests') too.
    private mutating func quote(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            guard let base = utf8.baseAddress else { return }
            let end = utf8.count
            var runStart = 0, i = 0
            while i < end {
                let b = base[i]
                if b < 0x20 || b == 0x22 || b == 0x5C || b == 0x2F {
                    bytes.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: i - runStart))
                    escape(b)
                    runStart = i &+ 1
                }
                i &+= 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: end - runStart))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func escape(_ b: UInt8) {
        bytes.append(UInt8(ascii: "\\"))
        switch b {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(b)
        case 0x08: bytes.append(UInt8(ascii: "b"))
        case 0x0C: bytes.append(UInt8(ascii: "f"))
        case 0x0A: bytes.append(UInt8(ascii: "n"))
        case 0x0D: bytes.append(UInt8(ascii: "r"))
        case 0x09: bytes.append(UInt8(ascii: "t"))
        default:
            let hex = Array("0123456789abcdef".utf8)
            bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(b >> 4)], hex[Int(b & 0xF)]])
        }
    }
}
