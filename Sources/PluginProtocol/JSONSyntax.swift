import FoundationEssentials

/// A strict JSON syntax check (RFC 8259) over bytes that builds nothing: the host's per-response
/// "is this a JSON object?" gate, which `JSONSerialization` answered before the CLI dropped
/// Foundation. The typed decode that follows reads the values; this only says whether to try.
public enum JSONSyntax {
    /// Nesting deeper than this is refused (as JSONSerialization refused 512 levels).
    public static let maxDepth = 512

    /// True when `bytes` is valid UTF-8 holding exactly one JSON value, an object, with only
    /// whitespace around it.
    public static func isObject(_ bytes: Data) -> Bool {
        bytes.withUnsafeBytes { raw in
            var scanner = Scanner(raw.bindMemory(to: UInt8.self))
            scanner.skipSpace()
            guard scanner.peek == UInt8(ascii: "{"), scanner.value(depth: 0) else { return false }
            scanner.skipSpace()
            return scanner.atEnd
        } && String(validating: bytes, as: UTF8.self) != nil
    }

    struct Scanner: JSONByteCursor {
        let bytes: UnsafeBufferPointer<UInt8>
        var at = 0
        init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        mutating func value(depth: Int) -> Bool {
            guard depth < JSONSyntax.maxDepth, let b = peek else { return false }
            switch b {
            case UInt8(ascii: "{"): return container(close: UInt8(ascii: "}"), keyed: true, depth: depth)
            case UInt8(ascii: "["): return container(close: UInt8(ascii: "]"), keyed: false, depth: depth)
            case UInt8(ascii: "\""): return string()
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            default: return number()
            }
        }

        mutating func container(close: UInt8, keyed: Bool, depth: Int) -> Bool {
            at += 1
            skipSpace()
            if eat(close) { return true }
            while true {
                if keyed {
                    guard string() else { return false }
                    skipSpace()
                    guard eat(UInt8(ascii: ":")) else { return false }
                    skipSpace()
                }
                guard value(depth: depth + 1) else { return false }
                skipSpace()
                if eat(close) { return true }
                guard eat(UInt8(ascii: ",")) else { return false }
                skipSpace()
            }
        }

        mutating func string() -> Bool {
            guard eat(UInt8(ascii: "\"")) else { return false }
            while let b = peek {
                at += 1
                switch b {
                case UInt8(ascii: "\""): return true
                case UInt8(ascii: "\\"):
                    guard let e = peek else { return false }
                    at += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                         UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"): continue
                    case UInt8(ascii: "u"):
                        for _ in 0..<4 {
                            guard let h = peek, isHex(h) else { return false }
                            at += 1
                        }
                    default: return false
                    }
                case 0..<0x20: return false
                default: continue
                }
            }
            return false
        }

        mutating func number() -> Bool {
            _ = eat(UInt8(ascii: "-"))
            if eat(UInt8(ascii: "0")) {} else if digits() == 0 { return false }
            if eat(UInt8(ascii: ".")), digits() == 0 { return false }
            if eat(UInt8(ascii: "e")) || eat(UInt8(ascii: "E")) {
                if !eat(UInt8(ascii: "+")) { _ = eat(UInt8(ascii: "-")) }
                if digits() == 0 { return false }
            }
            return true
        }

        mutating func digits() -> Int {
            let start = at
            while let b = peek, b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") { at += 1 }
            return at - start
        }

        func isHex(_ b: UInt8) -> Bool {
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)
        }
    }
}
