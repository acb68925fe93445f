// The reference parser's scalars (see YAMLReferenceParser.swift), verbatim but renamed.
import Basics
import YAMLSubset
/// One-line values: plain and quoted scalars, and flow collections of scalars.
extension YAMLReferenceParser {
    /// If the content at `p` is `key:` followed by whitespace or the end of the line, the key's text
    /// and the index just after the colon; nil when the content is a value, not a key.
    func key(_ line: SourceLine, _ p: Int) throws(YAMLError) -> (String, Int)? {
        let chars = line.chars
        guard p < chars.count else { return nil }
        let first = chars[p]
        if first == "\"" || first == "'" {
            let (text, end) = try quoted(line, p)
            let q = Self.skipSpaces(chars, end)
            if q < chars.count, chars[q] == ":", q + 1 == chars.count || Self.isSpace(chars[q + 1]) {
                return (text, q + 1)
            }
            return nil
        }
        if "{[&*!|>%@`,]}".unicodeScalars.contains(first) { return nil }  // a value (or an error inlineValue reports)
        if first == "?" || first == "-", p + 1 == chars.count || Self.isSpace(chars[p + 1]) { return nil }
        var q = p
        while q < chars.count {
            if chars[q] == ":", q + 1 == chars.count || Self.isSpace(chars[q + 1]) {
                let name = Self.trimmed(chars[p..<q])
                if name.isEmpty {
                    throw error(.syntax, "A mapping key cannot be empty; write \"\" if you mean an empty key.",
                                line: line.number, index: p)
                }
                return (name, q + 1)
            }
            if chars[q] == "#", q > p, Self.isSpace(chars[q - 1]) { return nil }
            q += 1
        }
        return nil
    }

    /// A whole-line value starting at `p`: a scalar or a flow collection, then only a comment.
    func inlineValue(_ line: SourceLine, _ p: Int) throws(YAMLError) -> YAMLNode {
        let chars = line.chars
        switch chars[p] {
        case "\"", "'":
            let (text, end) = try quoted(line, p)
            try expectLineEnd(line, end, after: "the quoted value")
            return YAMLNode(.scalar(text, quoted: true), line: line.number, column: p + 1)
        case "{", "[":
            let (node, end) = try flow(line, p)
            try expectLineEnd(line, end, after: "the flow collection")
            return node
        default:
            try checkPlainStart(line, p, inFlow: false)
            var end = p
            while end < chars.count, !(chars[end] == "#" && end > p && Self.isSpace(chars[end - 1])) { end += 1 }
            while end > p, Self.isSpace(chars[end - 1]) { end -= 1 }
            for q in p..<end where chars[q] == ":" && (q + 1 == end || Self.isSpace(chars[q + 1])) {
                throw error(.syntax, "A plain value cannot contain \": \" or end with \":\"; quote the value.",
                            line: line.number, index: q)
            }
            return YAMLNode(.scalar(Self.trimmed(chars[p..<end]), quoted: false), line: line.number, column: p + 1)
        }
    }

    /// Refuses the indicator characters YAML reserves at the start of a plain scalar.
    func checkPlainStart(_ line: SourceLine, _ p: Int, inFlow: Bool) throws(YAMLError) {
        let chars = line.chars
        let c = chars[p]
        let alone = p + 1 == chars.count || Self.isSpace(chars[p + 1])
        func fail(_ code: YAMLError.Code, _ message: String) -> YAMLError {
            error(code, message, line: line.number, index: p)
        }
        switch c {
        case "&": throw fail(.unsupported, "Anchors (&) are not supported.")
        case "*": throw fail(.unsupported, "Aliases (*) are not supported.")
        case "!": throw fail(.unsupported, "Tags (!) are not supported.")
        case "|", ">":
            throw fail(.unsupported, "Block scalars (| and >) are not supported; write the value on one line, in double quotes with \\n for line breaks.")
        case "%", "@", "`", ",", "]", "}":
            throw fail(.syntax, "A plain value cannot start with \(String(c).quotedForMessage); quote the value.")
        case "?" where alone: throw fail(.unsupported, "Complex keys (?) are not supported.")
        case "-" where alone:
            throw fail(.syntax, inFlow
                ? "A block sequence item (\"- \") cannot appear inside a flow collection."
                : "A sequence cannot start on the same line as its key; put each \"- item\" on its own line below.")
        default: return
        }
    }

    /// Only whitespace or a comment may follow a complete value.
    func expectLineEnd(_ line: SourceLine, _ p: Int, after what: String) throws(YAMLError) {
        let q = Self.skipSpaces(line.chars, p)
        if q == line.chars.count || (q > p && line.chars[q] == "#") { return }
        throw error(.syntax, "Unexpected text after \(what); only a comment may follow it.", line: line.number, index: q)
    }

    /// A single- or double-quoted scalar starting at `p`; returns its text and the index after the closing quote.
    func quoted(_ line: SourceLine, _ p: Int) throws(YAMLError) -> (String, Int) {
        let chars = line.chars
        let quote = chars[p]
        var out = String.UnicodeScalarView()
        var q = p + 1
        while q < chars.count {
            let c = chars[q]
            if quote == "'" {
                if c == "'" {
                    if q + 1 < chars.count, chars[q + 1] == "'" { out.append("'"); q += 2; continue }
                    return (String(out), q + 1)
                }
                out.append(c); q += 1
                continue
            }
            if c == "\"" { return (String(out), q + 1) }
            if c != "\\" { out.append(c); q += 1; continue }
            guard q + 1 < chars.count else { break }
            switch chars[q + 1] {
            case "\"": out.append("\""); q += 2
            case "\\": out.append("\\"); q += 2
            case "/": out.append("/"); q += 2
            case "n": out.append("\n"); q += 2
            case "t": out.append("\t"); q += 2
            case "r": out.append("\r"); q += 2
            case "u":
                let (scalar, next) = try unicodeEscape(line, q)
                out.append(scalar); q = next
            default:
                throw error(.syntax, "Unknown escape \(("\\" + String(chars[q + 1])).quotedForMessage) in a double-quoted value; the supported escapes are \\\" \\\\ \\/ \\n \\t \\r and \\uXXXX.",
                            line: line.number, index: q)
            }
        }
        throw error(.syntax, "This quoted value is not closed on the same line; multi-line values are not supported.",
                    line: line.number, index: p)
    }

    /// `\uXXXX` at `q` (the backslash), including a `\uD83D\uDE00`-style surrogate pair.
    func unicodeEscape(_ line: SourceLine, _ q: Int) throws(YAMLError) -> (Unicode.Scalar, Int) {
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= line.chars.count else { return nil }
            var v: UInt32 = 0
            for c in line.chars[at..<(at + 4)] {
                guard let d = Int(String(c), radix: 16) else { return nil }
                v = v * 16 + UInt32(d)
            }
            return v
        }
        guard let high = hex4(q + 2) else {
            throw error(.syntax, "Expected four hexadecimal digits after \\u.", line: line.number, index: q)
        }
        var value = high
        var next = q + 6
        if (0xD800..<0xDC00).contains(high) {
            guard next + 1 < line.chars.count, line.chars[next] == "\\", line.chars[next + 1] == "u",
                  let low = hex4(next + 2), (0xDC00..<0xE000).contains(low)
            else {
                throw error(.syntax, "A \\u escape names half of a surrogate pair without the other half.", line: line.number, index: q)
            }
            value = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            next += 6
        }
        guard let scalar = Unicode.Scalar(value) else {
            throw error(.syntax, "A \\u escape names half of a surrogate pair without the other half.", line: line.number, index: q)
        }
        return (scalar, next)
    }

    /// A one-line flow mapping or sequence of scalars starting at `p`; returns it and the index after it.
    func flow(_ line: SourceLine, _ p: Int) throws(YAMLError) -> (YAMLNode, Int) {
        let chars = line.chars
        let isMap = chars[p] == "{"
        let close: Unicode.Scalar = isMap ? "}" : "]"
        let kind = isMap ? "mapping" : "sequence"
        var items: [YAMLNode] = []
        var entries: [(key: YAMLKey, value: YAMLNode)] = []
        var firstColumn: [String: Int] = [:]
        func fail(_ code: YAMLError.Code, _ message: String, _ at: Int) -> YAMLError {
            error(code, message, line: line.number, index: at)
        }
        func node() -> YAMLNode {
            YAMLNode(isMap ? .mapping(entries) : .sequence(items), line: line.number, column: p + 1)
        }
        let unclosed = fail(.syntax, "This flow \(kind) is not closed on the same line; multi-line flow collections are not supported.", p)
        var q = Self.skipSpaces(chars, p + 1)
        if q < chars.count, chars[q] == close { return (node(), q + 1) }
        while true {
            guard q < chars.count, !(chars[q] == "#" && Self.isSpace(chars[q - 1])) else { throw unclosed }
            if chars[q] == "{" || chars[q] == "[" {
                throw fail(.unsupported, "Nested flow collections are not supported; write nested values in block style.", q)
            }
            if chars[q] == "," { throw fail(.syntax, "Empty entry in a flow \(kind); remove the extra \",\".", q) }
            let (first, afterFirst) = try flowScalar(line, q, isKey: isMap)
            q = Self.skipSpaces(chars, afterFirst)
            if isMap {
                guard q < chars.count, chars[q] == ":" else {
                    if q >= chars.count || (chars[q] == "#" && Self.isSpace(chars[q - 1])) { throw unclosed }
                    throw fail(.syntax, "Expected \":\" after the key \((first.scalarText ?? "").quotedForMessage) in a flow mapping.", q)
                }
                let name = first.scalarText ?? ""
                if let column = firstColumn[name] {
                    throw fail(.duplicateKey, "Duplicate key \(name.quotedForMessage) (first defined at column \(column)).", first.column - 1)
                }
                firstColumn[name] = first.column
                q = Self.skipSpaces(chars, q + 1)
                guard q < chars.count else { throw unclosed }
                var value = YAMLNode(.null, line: line.number, column: first.column)
                if chars[q] != ",", chars[q] != close {
                    if chars[q] == "{" || chars[q] == "[" {
                        throw fail(.unsupported, "Nested flow collections are not supported; write nested values in block style.", q)
                    }
                    if chars[q] == "#", Self.isSpace(chars[q - 1]) { throw unclosed }
                    let (parsed, after) = try flowScalar(line, q, isKey: false)
                    value = parsed
                    q = Self.skipSpaces(chars, after)
                }
                entries.append((key: YAMLKey(name, line: line.number, column: first.column), value: value))
            } else {
                items.append(first)
            }
            guard q < chars.count, !(chars[q] == "#" && Self.isSpace(chars[q - 1])) else { throw unclosed }
            if chars[q] == close { return (node(), q + 1) }
            guard chars[q] == "," else {
                throw fail(.syntax, "Expected \",\" or \(String(close).quotedForMessage) in a flow \(kind).", q)
            }
            q = Self.skipSpaces(chars, q + 1)
            if q < chars.count, chars[q] == close { return (node(), q + 1) }  // a trailing comma is allowed
        }
    }

    /// A scalar inside a flow collection. Plain ones end at `,` `]` `}` `[` `{`, a comment, and
    /// (for keys) at a `:` followed by a space, `,`, `}`, `]` or the end of the line.
    func flowScalar(_ line: SourceLine, _ p: Int, isKey: Bool) throws(YAMLError) -> (YAMLNode, Int) {
        let chars = line.chars
        if chars[p] == "\"" || chars[p] == "'" {
            let (text, end) = try quoted(line, p)
            return (YAMLNode(.scalar(text, quoted: true), line: line.number, column: p + 1), end)
        }
        try checkPlainStart(line, p, inFlow: true)
        var end = p
        scan: while end < chars.count {
            let c = chars[end]
            switch c {
            case ",", "]", "}", "[", "{": break scan
            case "#" where end > p && Self.isSpace(chars[end - 1]): break scan
            case ":" where end + 1 == chars.count || ",]} \t".unicodeScalars.contains(chars[end + 1]):
                if isKey { break scan }
                throw error(.syntax, "A plain value cannot contain \": \" or end with \":\"; quote the value.",
                            line: line.number, index: end)
            default: end += 1
            }
        }
        let text = Self.trimmed(chars[p..<end])
        if text.isEmpty {
            throw error(.syntax, "A mapping key cannot be empty; write \"\" if you mean an empty key.", line: line.number, index: p)
        }
        return (YAMLNode(.scalar(text, quoted: false), line: line.number, column: p + 1), end)
    }

    static func trimmed(_ slice: ArraySlice<Unicode.Scalar>) -> String {
        var s = slice
        while let last = s.last, isSpace(last) { s.removeLast() }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: s)
        return String(view)
    }
}
