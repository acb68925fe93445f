import FoundationEssentials

/// A strict JSON reader (RFC 8259) that builds a `JSONValue` directly, without `Codable`.
///
/// Why: the first `JSONDecoder` decode of a type in a process makes the Swift runtime look up its
/// generic metadata and scan every loaded image's conformance records (`swift_conformsToProtocol`);
/// decoding `JSONValue` (a recursive enum over arrays and dictionaries) that way cost a one-shot CLI
/// ~1.9 M instructions of the ~25 M of `sandboxer exec ID -- true` (callgrind), for the few small
/// columns the store keeps as JSON. The grammar is `JSONSyntax`'s (strict RFC 8259: unlike
/// `JSONDecoder`, a trailing comma is refused; the host's own renderer never writes one); the values
/// are what `JSONDecoder().decode(JSONValue.self, …)` gives for the same text (`JSONReaderTests`).
public enum JSONReader {
    /// The one JSON value in `bytes` (whitespace around it allowed), or nil when the bytes are not
    /// JSON, not UTF-8, nest deeper than `JSONSyntax.maxDepth`, or hold a number a Double cannot.
    public static func parse(_ bytes: some Collection<UInt8>) -> JSONValue? {
        let array = Array(bytes)
        return array.withUnsafeBufferPointer { buffer in
            var reader = Reader(buffer)
            reader.skipSpace()
            guard let value = reader.value(depth: 0) else { return nil }
            reader.skipSpace()
            // Not a `? :` with nil: JSONValue is ExpressibleByNilLiteral, so that nil would be `.null`.
            guard reader.atEnd else { return nil }
            return value
        }
    }

    /// The members of the JSON object in `text`; nil when it is not one.
    public static func object(_ text: String) -> [String: JSONValue]? {
        guard case .object(let members)? = parse(text.utf8) else { return nil }
        return members
    }

    struct Reader: JSONByteCursor {
        let bytes: UnsafeBufferPointer<UInt8>
        var at = 0
        init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        mutating func value(depth: Int) -> JSONValue? {
            guard depth < JSONSyntax.maxDepth, let b = peek else { return nil }
            switch b {
            case UInt8(ascii: "{"): return object(depth: depth)
            case UInt8(ascii: "["): return array(depth: depth)
            case UInt8(ascii: "\""): return string().map(JSONValue.string)
            case UInt8(ascii: "t"): return literal("true") ? JSONValue?.some(.bool(true)) : JSONValue?.none
            case UInt8(ascii: "f"): return literal("false") ? JSONValue?.some(.bool(false)) : JSONValue?.none
            case UInt8(ascii: "n"): return literal("null") ? JSONValue?.some(.null) : JSONValue?.none
            default: return number().map(JSONValue.number)
            }
        }

        mutating func object(depth: Int) -> JSONValue? {
            at += 1
            skipSpace()
            var members: [String: JSONValue] = [:]
            if eat(UInt8(ascii: "}")) { return .object(members) }
            while true {
                guard let key = string() else { return nil }
                skipSpace()
                guard eat(UInt8(ascii: ":")) else { return nil }
                skipSpace()
                guard let member = value(depth: depth + 1) else { return nil }
                if members[key] == nil { members[key] = member }   // a repeated key: the first stands, as in JSONDecoder
                skipSpace()
                if eat(UInt8(ascii: "}")) { return .object(members) }
                guard eat(UInt8(ascii: ",")) else { return nil }
                skipSpace()
            }
        }

        mutating func array(depth: Int) -> JSONValue? {
            at += 1
            skipSpace()
            var elements: [JSONValue] = []
            if eat(UInt8(ascii: "]")) { return .array(elements) }
            while true {
                guard let element = value(depth: depth + 1) else { return nil }
                elements.append(element)
                skipSpace()
                if eat(UInt8(ascii: "]")) { return .array(elements) }
                guard eat(UInt8(ascii: ",")) else { return nil }
                skipSpace()
            }
        }

        /// A string's value: escapes decoded, UTF-8 checked (a lone surrogate escape is refused).
        /// Runs of plain bytes are found by `plainRun` and copied whole: a base64 payload of a
        /// megabyte is a few thousand runs (JSONEncoder writes each `/` as `\/`), not a megabyte of
        /// single-byte steps.
        mutating func string() -> String? {
            guard eat(UInt8(ascii: "\"")) else { return nil }
            var out: [UInt8] = []
            while true {
                let start = at
                at = plainRun(from: at)
                guard at < bytes.count else { return nil }
                let run = UnsafeBufferPointer(rebasing: bytes[start..<at])
                let b = bytes[at]
                at += 1
                if b == UInt8(ascii: "\"") {
                    // No escape before: the string is the run itself, made in one step.
                    if out.isEmpty { return String(validating: run, as: UTF8.self) }
                    out.append(contentsOf: run)
                    return String(validating: out, as: UTF8.self)
                }
                guard b == UInt8(ascii: "\\") else { return nil }   // a raw control character
                out.append(contentsOf: run)
                guard let e = peek else { return nil }
                at += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    guard var scalar = hex4() else { return nil }
                    if scalar >= 0xD800 && scalar < 0xDC00 {
                        guard eat(UInt8(ascii: "\\")), eat(UInt8(ascii: "u")), let low = hex4(),
                              low >= 0xDC00 && low < 0xE000 else { return nil }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { return nil }
                    out.append(contentsOf: UTF8.encode(u)!)
                default: return nil
                }
            }
        }

        /// The index of the first byte from `start` on that ends a run of plain string bytes (a quote,
        /// a backslash or a control character), or the end. A pointer loop: it is the one loop over
        /// every byte of a large payload, so it stays cheap in debug builds (the tests') too.
        func plainRun(from start: Int) -> Int {
            guard let base = bytes.baseAddress else { return start }
            let end = bytes.count
            var i = start
            while i < end {
                let b = base[i]
                if b < 0x20 || b == 0x22 || b == 0x5C { return i }
                i &+= 1
            }
            return end
        }

        mutating func hex4() -> UInt32? {
            guard at + 4 <= bytes.count else { return nil }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let h = bytes[at]
                let digit: UInt8
                switch h {
                case 0x30...0x39: digit = h - 0x30
                case 0x41...0x46: digit = h - 0x41 + 10
                case 0x61...0x66: digit = h - 0x61 + 10
                default: return nil
                }
                v = v << 4 | UInt32(digit)
                at += 1
            }
            return v
        }

        mutating func number() -> Double? {
            let start = at
            _ = eat(UInt8(ascii: "-"))
            if eat(UInt8(ascii: "0")) {} else if digits() == 0 { return nil }
            if eat(UInt8(ascii: ".")), digits() == 0 { return nil }
            if eat(UInt8(ascii: "e")) || eat(UInt8(ascii: "E")) {
                if !eat(UInt8(ascii: "+")) { _ = eat(UInt8(ascii: "-")) }
                if digits() == 0 { return nil }
            }
            guard let n = Double(String(decoding: bytes[start..<at], as: UTF8.self)), n.isFinite else { return nil }
            return n
        }

        mutating func digits() -> Int {
            let start = at
            while let b = peek, b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") { at += 1 }
            return at - start
        }
    }
}
