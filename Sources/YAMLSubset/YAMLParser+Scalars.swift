import Basics
/// One-line values: plain and quoted scalars, and flow collections of scalars.
extension YAMLParser {
    /// If the content at `p` is `key:` followed by whitespace or the end of the line, the key's text
    /// and the offset just after the colon; nil when the content is a value, not a key.
    func key(_ line: SourceLine, _ p: Int) throws(YAMLError) -> (String, Int)? {
        guard p < line.count else { return nil }
        let first = line[p]
        if first == Byte.doubleQuote || first == Byte.singleQuote {
            let (text, end) = try quoted(line, p)
            let q = Self.skipSpaces(line, end)
            if q < line.count, line[q] == Byte.colon, q + 1 == line.count || Self.isSpace(line[q + 1]) {
                return (text, q + 1)
            }
            return nil
        }
        switch first {
        case Byte.openBrace, Byte.openBracket, Byte.ampersand, Byte.star, Byte.bang, Byte.pipe, Byte.greater,
             Byte.percent, Byte.at, Byte.backtick, Byte.comma, Byte.closeBracket, Byte.closeBrace:
            return nil  // a value (or an error inlineValue reports)
        case Byte.question, Byte.dash:
            if p + 1 == line.count || Self.isSpace(line[p + 1]) { return nil }
        default: break
        }
        var q = p
        while q < line.count {
            let c = line[q]
            if c == Byte.colon, q + 1 == line.count || Self.isSpace(line[q + 1]) {
                let name = Self.trimmed(line, p, q)
                if name.isEmpty {
                    throw error(.syntax, "A mapping key cannot be empty; write \"\" if you mean an empty key.",
                                line: line, offset: p)
                }
                return (name, q + 1)
            }
            if c == Byte.hash, q > p, Self.isSpace(line[q - 1]) { return nil }
            q += 1
        }
        return nil
    }

    /// A whole-line value starting at `p`: a scalar or a flow collection, then only a comment.
    func inlineValue(_ line: SourceLine, _ p: Int) throws(YAMLError) -> YAMLNode {
        switch line[p] {
        case Byte.doubleQuote, Byte.singleQuote:
            let (text, end) = try quoted(line, p)
            try expectLineEnd(line, end, after: "the quoted value")
            return YAMLNode(.scalar(text, quoted: true), line: line.number, column: column(line, p))
        case Byte.openBrace, Byte.openBracket:
            let (node, end) = try flow(line, p)
            try expectLineEnd(line, end, after: "the flow collection")
            return node
        default:
            try checkPlainStart(line, p, inFlow: false)
            var end = p
            while end < line.count, !(line[end] == Byte.hash && end > p && Self.isSpace(line[end - 1])) { end += 1 }
            while end > p, Self.isSpace(line[end - 1]) { end -= 1 }
            for q in p..<end where line[q] == Byte.colon && (q + 1 == end || Self.isSpace(line[q + 1])) {
                throw error(.syntax, "A plain value cannot contain \": \" or end with \":\"; quote the value.",
                            line: line, offset: q)
            }
            return YAMLNode(.scalar(line.text(p, end), quoted: false), line: line.number, column: column(line, p))
        }
    }

    /// Refuses the indicator characters YAML reserves at the start of a plain scalar.
    func checkPlainStart(_ line: SourceLine, _ p: Int, inFlow: Bool) throws(YAMLError) {
        let c = line[p]
        let alone = p + 1 == line.count || Self.isSpace(line[p + 1])
        func fail(_ code: YAMLError.Code, _ message: String) -> YAMLError {
            error(code, message, line: line, offset: p)
        }
        switch c {
        case Byte.ampersand: throw fail(.unsupported, "Anchors (&) are not supported.")
        case Byte.star: throw fail(.unsupported, "Aliases (*) are not supported.")
        case Byte.bang: throw fail(.unsupported, "Tags (!) are not supported.")
        case Byte.pipe, Byte.greater:
            throw fail(.unsupported, "Block scalars (| and >) are not supported; write the value on one line, in double quotes with \\n for line breaks.")
        case Byte.percent, Byte.at, Byte.backtick, Byte.comma, Byte.closeBracket, Byte.closeBrace:
            throw fail(.syntax, "A plain value cannot start with \(line.text(p, p + 1).quotedForMessage); quote the value.")
        case Byte.question where alone: throw fail(.unsupported, "Complex keys (?) are not supported.")
        case Byte.dash where alone:
            throw fail(.syntax, inFlow
                ? "A block sequence item (\"- \") cannot appear inside a flow collection."
                : "A sequence cannot start on the same line as its key; put each \"- item\" on its own line below.")
        default: return
        }
    }

    /// Only whitespace or a comment may follow a complete value.
    func expectLineEnd(_ line: SourceLine, _ p: Int, after what: String) throws(YAMLError) {
        let q = Self.skipSpaces(line, p)
        if q == line.count || (q > p && line[q] == Byte.hash) { return }
        throw error(.syntax, "Unexpected text after \(what); only a comment may follow it.", line: line, offset: q)
    }

    /// A one-line flow mapping or sequence of scalars starting at `p`; returns it and the offset after it.
    func flow(_ line: SourceLine, _ p: Int) throws(YAMLError) -> (YAMLNode, Int) {
        let isMap = line[p] == Byte.openBrace
        let close = isMap ? Byte.closeBrace : Byte.closeBracket
        let kind = isMap ? "mapping" : "sequence"
        let start = column(line, p)
        var items: [YAMLNode] = []
        var entries: [(key: YAMLKey, value: YAMLNode)] = []
        var keyIndex: [String: YAMLKey] = [:]
        func fail(_ code: YAMLError.Code, _ message: String, _ at: Int) -> YAMLError {
            error(code, message, line: line, offset: at)
        }
        func node() -> YAMLNode {
            YAMLNode(isMap ? .mapping(entries) : .sequence(items), line: line.number, column: start)
        }
        func unclosed() -> YAMLError {
            fail(.syntax, "This flow \(kind) is not closed on the same line; multi-line flow collections are not supported.", p)
        }
        func isComment(_ q: Int) -> Bool { line[q] == Byte.hash && Self.isSpace(line[q - 1]) }
        func isNested(_ q: Int) -> Bool { line[q] == Byte.openBrace || line[q] == Byte.openBracket }
        var q = Self.skipSpaces(line, p + 1)
        if q < line.count, line[q] == close { return (node(), q + 1) }
        while true {
            guard q < line.count, !isComment(q) else { throw unclosed() }
            if isNested(q) {
                throw fail(.unsupported, "Nested flow collections are not supported; write nested values in block style.", q)
            }
            if line[q] == Byte.comma { throw fail(.syntax, "Empty entry in a flow \(kind); remove the extra \",\".", q) }
            let (first, afterFirst) = try flowScalar(line, q, isKey: isMap)
            q = Self.skipSpaces(line, afterFirst)
            if isMap {
                guard q < line.count, line[q] == Byte.colon else {
                    if q >= line.count || isComment(q) { throw unclosed() }
                    throw fail(.syntax, "Expected \":\" after the key \((first.scalarText ?? "").quotedForMessage) in a flow mapping.", q)
                }
                let name = first.scalarText ?? ""
                let key = YAMLKey(name, line: line.number, column: first.column)
                if let earlier = Self.earlierKey(key, among: entries, index: &keyIndex) {
                    throw YAMLError(code: .duplicateKey, message: "Duplicate key \(name.quotedForMessage) (first defined at column \(earlier.column)).",
                                    file: file, line: line.number, column: first.column)
                }
                q = Self.skipSpaces(line, q + 1)
                guard q < line.count else { throw unclosed() }
                var value = YAMLNode(.null, line: line.number, column: first.column)
                if line[q] != Byte.comma, line[q] != close {
                    if isNested(q) {
                        throw fail(.unsupported, "Nested flow collections are not supported; write nested values in block style.", q)
                    }
                    if isComment(q) { throw unclosed() }
                    let (parsed, after) = try flowScalar(line, q, isKey: false)
                    value = parsed
                    q = Self.skipSpaces(line, after)
                }
                entries.append((key: key, value: value))
            } else {
                items.append(first)
            }
            guard q < line.count, !isComment(q) else { throw unclosed() }
            if line[q] == close { return (node(), q + 1) }
            guard line[q] == Byte.comma else {
                throw fail(.syntax, "Expected \",\" or \(isMap ? "\"}\"" : "\"]\"") in a flow \(kind).", q)
            }
            q = Self.skipSpaces(line, q + 1)
            if q < line.count, line[q] == close { return (node(), q + 1) }  // a trailing comma is allowed
        }
    }

    /// A scalar inside a flow collection. Plain ones end at `,` `]` `}` `[` `{`, a comment, and
    /// (for keys) at a `:` followed by a space, `,`, `}`, `]` or the end of the line.
    func flowScalar(_ line: SourceLine, _ p: Int, isKey: Bool) throws(YAMLError) -> (YAMLNode, Int) {
        if line[p] == Byte.doubleQuote || line[p] == Byte.singleQuote {
            let (text, end) = try quoted(line, p)
            return (YAMLNode(.scalar(text, quoted: true), line: line.number, column: column(line, p)), end)
        }
        try checkPlainStart(line, p, inFlow: true)
        var end = p
        scan: while end < line.count {
            switch line[end] {
            case Byte.comma, Byte.closeBracket, Byte.closeBrace, Byte.openBracket, Byte.openBrace: break scan
            case Byte.hash where end > p && Self.isSpace(line[end - 1]): break scan
            case Byte.colon where end + 1 == line.count || Self.endsFlowKey(line[end + 1]):
                if isKey { break scan }
                throw error(.syntax, "A plain value cannot contain \": \" or end with \":\"; quote the value.",
                            line: line, offset: end)
            default: end += 1
            }
        }
        let text = Self.trimmed(line, p, end)
        if text.isEmpty {
            throw error(.syntax, "A mapping key cannot be empty; write \"\" if you mean an empty key.", line: line, offset: p)
        }
        return (YAMLNode(.scalar(text, quoted: false), line: line.number, column: column(line, p)), end)
    }

    /// What may follow the `:` that ends a plain key in a flow collection.
    static func endsFlowKey(_ c: UInt8) -> Bool {
        c == Byte.comma || c == Byte.closeBracket || c == Byte.closeBrace || c == Byte.space || c == Byte.tab
    }
}
