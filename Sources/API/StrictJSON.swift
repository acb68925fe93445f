import HTTPServer
import YAMLSubset
import Lifecycle
import Webhooks
import Store
import Config
import Core
import Backends
import Basics
import PluginProtocol
/// A strict RFC 8259 syntax check run before decoding a request body. Foundation's decoder accepts
/// trailing commas and keeps the first of duplicate keys where most parsers keep the last; an API that
/// takes either silently reads a different request than the client (or an auditing proxy) meant, so
/// both are refused here. Keys are compared after unescaping, as Swift strings (so `"ttl"` and
/// `"t\u0074l"`, or two canonically equivalent spellings, are the same key, as they are to the decoder).
struct StrictJSON {
    /// Why a body was refused.
    struct Problem: Error { var message: String }

    private let bytes: [UInt8]
    private var i = 0
    static let maxDepth = 64

    /// Throws when `bytes` is not exactly one JSON value with no duplicate object keys.
    static func check(_ bytes: [UInt8]) throws(Problem) {
        var parser = StrictJSON(bytes: bytes)
        parser.skipSpace()
        try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.i == bytes.count else { throw Problem(message: "unexpected text after the JSON value") }
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private mutating func skipSpace() {
        while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
    }

    private func fail(_ what: String) -> Problem { Problem(message: "\(what) at byte \(i)") }

    private mutating func expect(_ literal: String) throws(Problem) {
        for b in literal.utf8 {
            guard i < bytes.count, bytes[i] == b else { throw fail("invalid literal") }
            i += 1
        }
    }

    private mutating func value(depth: Int) throws(Problem) {
        guard depth < Self.maxDepth else { throw fail("nesting too deep") }
        guard i < bytes.count else { throw fail("unexpected end") }
        switch bytes[i] {
        case UInt8(ascii: "{"): try object(depth: depth)
        case UInt8(ascii: "["): try array(depth: depth)
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "t"): try expect("true")
        case UInt8(ascii: "f"): try expect("false")
        case UInt8(ascii: "n"): try expect("null")
        default: try number()
        }
    }

    private mutating func object(depth: Int) throws(Problem) {
        i += 1
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return }
        var keys = Set<String>()
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a key (a trailing comma?)") }
            let key = try string()
            guard keys.insert(key).inserted else { throw fail("duplicate key \(key.quotedForMessage)") }
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            i += 1
            skipSpace()
            try value(depth: depth + 1)
            skipSpace()
            guard i < bytes.count else { throw fail("unexpected end") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { i += 1; return }
            throw fail("expected ',' or '}'")
        }
    }

    private mutating func array(depth: Int) throws(Problem) {
        i += 1
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] != UInt8(ascii: "]") else { throw fail("trailing comma") }
            try value(depth: depth + 1)
            skipSpace()
            guard i < bytes.count else { throw fail("unexpected end") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { i += 1; return }
            throw fail("expected ',' or ']'")
        }
    }

    /// Returns the string's value with its escapes decoded. Lone surrogates are refused: they decode to
    /// nothing a Swift string can hold, so two different keys could otherwise compare equal.
    private mutating func string() throws(Problem) -> String {
        i += 1
        var out = String.UnicodeScalarView()
        var runStart = i
        func flush(_ end: Int) { out.append(contentsOf: String(decoding: bytes[runStart..<end], as: UTF8.self).unicodeScalars) }
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") { flush(i); i += 1; return String(out) }
            if b < 0x20 { throw fail("control character in a string") }
            guard b == UInt8(ascii: "\\") else { i += 1; continue }
            flush(i)
            i += 1
            guard i < bytes.count else { break }
            switch bytes[i] {
            case UInt8(ascii: "u"):
                var unit = try hex4()
                if (0xD800..<0xDC00).contains(unit) {
                    guard i + 2 < bytes.count, bytes[i + 1] == UInt8(ascii: "\\"), bytes[i + 2] == UInt8(ascii: "u")
                    else { throw fail("unpaired surrogate in a \\u escape") }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw fail("unpaired surrogate in a \\u escape") }
                    unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(unit) {
                    throw fail("unpaired surrogate in a \\u escape")
                }
                guard let scalar = Unicode.Scalar(unit) else { throw fail("bad \\u escape") }
                out.append(scalar)
            case UInt8(ascii: "\""): out.append("\"")
            case UInt8(ascii: "\\"): out.append("\\")
            case UInt8(ascii: "/"): out.append("/")
            case UInt8(ascii: "b"): out.append("\u{08}")
            case UInt8(ascii: "f"): out.append("\u{0C}")
            case UInt8(ascii: "n"): out.append("\n")
            case UInt8(ascii: "r"): out.append("\r")
            case UInt8(ascii: "t"): out.append("\t")
            default: throw fail("bad escape")
            }
            i += 1
            runStart = i
        }
        throw fail("unterminated string")
    }

    /// Reads the four hex digits after `\\u` (with `i` on the `u`), leaving `i` on the last digit.
    private mutating func hex4() throws(Problem) -> UInt32 {
        guard i + 4 < bytes.count else { throw fail("bad \\u escape") }
        var value: UInt32 = 0
        for offset in 1...4 {
            let c = bytes[i + offset]
            let digit: UInt32
            switch c {
            case 48...57: digit = UInt32(c - 48)
            case 65...70: digit = UInt32(c - 55)
            case 97...102: digit = UInt32(c - 87)
            default: throw fail("bad \\u escape")
            }
            value = value << 4 | digit
        }
        i += 4
        return value
    }

    private mutating func number() throws(Problem) {
        func digits() -> Int { let s = i; while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { i += 1 }; return i - s }
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 else { throw fail("invalid value") }
        if bytes[i] == 48 { i += 1 } else { _ = digits() }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") { i += 1; guard digits() > 0 else { throw fail("bad number") } }
        if i < bytes.count, bytes[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { throw fail("bad number") }
        }
    }
}
