// The parser as it was before session 9's byte rewrite (Sources/YAMLSubset at c76bf49), kept verbatim
// but renamed, so YAMLDifferentialTests can hold the rewrite to it: same values, same locations, same
// errors. Not used by anything else; delete it together with those tests once the rewrite has aged.
import Basics
import YAMLSubset
/// Parses the strict YAML subset sandboxer's configuration uses: block mappings and sequences, plain
/// and quoted one-line scalars, comments, and one-line flow collections of scalars. Everything else
/// (anchors, aliases, tags, block scalars, multi-line values, several documents) is refused with an
/// error that says where and why, because a config format that silently guesses is worse than none.
struct YAMLReferenceParser {
    /// Deeper block nesting than this is refused (it also bounds the parser's recursion).
    static let maxDepth = 64

    /// One non-blank, non-comment line. `indent` is where its content starts; for the first line of a
    /// `- item` it is moved past the dash, so the item's content parses as a block at that column.
    struct SourceLine {
        let number: Int
        let chars: [Unicode.Scalar]
        var indent: Int
    }

    let file: String
    var lines: [SourceLine] = []
    var index = 0

    /// Parses one document. An empty document (only blanks and comments) is a null node at 1:1.
    static func parse(_ text: String, file: String = "<input>") throws(YAMLError) -> YAMLNode {
        var parser = try YAMLReferenceParser(text: text, file: file)
        return try parser.parseDocument()
    }

    init(text: String, file: String) throws(YAMLError) {
        self.file = file
        var sawDocumentStart = false
        var sawContent = false
        // Split on scalars, not Characters: "\r\n" is one Character and would hide the line break.
        for (offset, raw) in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = offset + 1
            var chars = Array(raw)
            if chars.last == "\r" { chars.removeLast() }
            if offset == 0, chars.first == "\u{FEFF}" { chars.removeFirst() }
            var p = 0
            while p < chars.count, Self.isSpace(chars[p]) { p += 1 }
            if p == chars.count || chars[p] == "#" { continue }  // blank or comment-only: tabs don't matter
            if let tab = chars[..<p].firstIndex(of: "\t") {
                throw error(.tab, "Tabs are not allowed for indentation.", line: number, index: tab)
            }
            if p == 0, Self.isMarker(chars, "-") {
                if sawContent || sawDocumentStart {
                    throw error(.unsupported, "Multiple documents are not supported; a file holds one document.",
                                line: number, index: 0)
                }
                sawDocumentStart = true
                let rest = Self.skipSpaces(chars, 3)
                if rest < chars.count, chars[rest] != "#" {
                    throw error(.unsupported, "Content on the same line as \"---\" is not supported; start it on the next line.",
                                line: number, index: rest)
                }
                continue
            }
            if p == 0, Self.isMarker(chars, ".") {
                throw error(.unsupported, "Document end markers (...) are not supported.", line: number, index: 0)
            }
            if p == 0, chars[0] == "%" {
                throw error(.unsupported, "Directives (%) are not supported.", line: number, index: 0)
            }
            sawContent = true
            lines.append(SourceLine(number: number, chars: chars, indent: p))
        }
    }

    mutating func parseDocument() throws(YAMLError) -> YAMLNode {
        guard !lines.isEmpty else { return YAMLNode(.null, line: 1, column: 1) }
        let rootIndent = lines[0].indent
        let root = try parseBlock(parentIndent: -1, depth: 0)
        if index < lines.count {
            // Only a mapping or sequence root can stop early, and only at a shallower line.
            throw inconsistent(lines[index], expected: rootIndent)
        }
        return root
    }

    /// Parses the block that starts at the current line's `indent`.
    mutating func parseBlock(parentIndent: Int, depth: Int) throws(YAMLError) -> YAMLNode {
        let line = lines[index]
        let p = line.indent
        guard depth < Self.maxDepth else {
            throw error(.unsupported, "Nesting deeper than \(Self.maxDepth) levels is not supported.", line: line.number, index: p)
        }
        if Self.isSequenceItem(line.chars, p) {
            return try parseSequence(indent: p, depth: depth, sharesKeyIndent: false)
        }
        if try key(line, p) != nil {
            return try parseMapping(indent: p, depth: depth)
        }
        let node = try inlineValue(line, p)
        index += 1
        if index < lines.count, lines[index].indent > parentIndent {
            throw error(.indentation, "Unexpected indentation: the value on line \(line.number) is complete, and multi-line values are not supported.",
                        line: lines[index].number, index: lines[index].indent)
        }
        return node
    }

    mutating func parseMapping(indent n: Int, depth: Int) throws(YAMLError) -> YAMLNode {
        let start = lines[index]
        var entries: [(key: YAMLKey, value: YAMLNode)] = []
        var firstLine: [String: Int] = [:]
        while index < lines.count {
            let line = lines[index]
            if line.indent < n { break }
            if line.indent > n { throw inconsistent(line, expected: n) }
            if Self.isSequenceItem(line.chars, n) {
                throw error(.syntax, "A sequence item cannot appear among the keys of a mapping; indent it under a key that ends with \":\".",
                            line: line.number, index: n)
            }
            guard let (name, afterColon) = try key(line, n) else { throw try notAKey(line, n) }
            let key = YAMLKey(name, line: line.number, column: n + 1)
            if let first = firstLine[name] {
                throw error(.duplicateKey, "Duplicate key \(name.quotedForMessage) (first defined on line \(first)).",
                            line: line.number, index: n)
            }
            firstLine[name] = line.number
            let v = Self.skipSpaces(line.chars, afterColon)
            let value: YAMLNode
            if v == line.chars.count || line.chars[v] == "#" {
                // `key:` alone: a nested block, a sequence at the key's own indentation, or null.
                index += 1
                if index < lines.count, lines[index].indent > n {
                    value = try parseBlock(parentIndent: n, depth: depth + 1)
                } else if index < lines.count, lines[index].indent == n, Self.isSequenceItem(lines[index].chars, n) {
                    value = try parseSequence(indent: n, depth: depth + 1, sharesKeyIndent: true)
                } else {
                    value = YAMLNode(.null, line: line.number, column: n + 1)
                }
            } else {
                value = try inlineValue(line, v)
                index += 1
                if index < lines.count, lines[index].indent > n {
                    throw error(.indentation, "Unexpected indentation: \(name.quotedForMessage) already has its value on line \(line.number), and multi-line values are not supported.",
                                line: lines[index].number, index: lines[index].indent)
                }
            }
            entries.append((key: key, value: value))
        }
        return YAMLNode(.mapping(entries), line: start.number, column: n + 1)
    }

    /// `sharesKeyIndent`: the sequence is the value of a key at the same indentation
    /// (`key:` then `- a` below it), so a non-item line there ends it instead of being an error.
    mutating func parseSequence(indent n: Int, depth: Int, sharesKeyIndent: Bool) throws(YAMLError) -> YAMLNode {
        let start = lines[index]
        var items: [YAMLNode] = []
        while index < lines.count {
            let line = lines[index]
            if line.indent < n { break }
            if line.indent > n { throw inconsistent(line, expected: n) }
            guard Self.isSequenceItem(line.chars, n) else {
                if sharesKeyIndent { break }
                throw error(.syntax, "Expected a sequence item (\"- value\") here, like the lines above at this indentation.",
                            line: line.number, index: n)
            }
            var q = n + 1
            while q < line.chars.count, line.chars[q] == " " { q += 1 }
            if q < line.chars.count, line.chars[q] == "\t" {
                throw error(.tab, "Tabs are not allowed for indentation.", line: line.number, index: q)
            }
            if q == line.chars.count || line.chars[q] == "#" {
                index += 1
                if index < lines.count, lines[index].indent > n {
                    items.append(try parseBlock(parentIndent: n, depth: depth + 1))
                } else {
                    items.append(YAMLNode(.null, line: line.number, column: n + 1))
                }
            } else {
                lines[index].indent = q  // the item's content is a block starting at column q
                items.append(try parseBlock(parentIndent: n, depth: depth + 1))
            }
        }
        return YAMLNode(.sequence(items), line: start.number, column: n + 1)
    }

    /// The error for a mapping line without `key:`, preferring a specific one (anchor, tag, quote…).
    func notAKey(_ line: SourceLine, _ p: Int) throws(YAMLError) -> YAMLError {
        _ = try inlineValue(line, p)
        let chars = line.chars
        if let colon = chars[p...].firstIndex(of: ":"), colon + 1 < chars.count, !Self.isSpace(chars[colon + 1]) {
            return error(.syntax, "Expected \"key: value\"; put a space after the \":\".", line: line.number, index: colon)
        }
        return error(.syntax, "Expected \"key: value\" here, like the other lines of this mapping.", line: line.number, index: p)
    }

    func inconsistent(_ line: SourceLine, expected: Int) -> YAMLError {
        let spaces = line.indent == 1 ? "1 space" : "\(line.indent) spaces"
        return error(.indentation, "Inconsistent indentation: this line is indented \(spaces), but the block it belongs to is indented \(expected).",
              line: line.number, index: line.indent)
    }

    /// An error at a 0-based index on a line (reported 1-based).
    func error(_ code: YAMLError.Code, _ message: String, line: Int, index: Int) -> YAMLError {
        YAMLError(code: code, message: message, file: file, line: line, column: index + 1)
    }

    static func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" }

    static func skipSpaces(_ chars: [Unicode.Scalar], _ p: Int) -> Int {
        var q = p
        while q < chars.count, isSpace(chars[q]) { q += 1 }
        return q
    }

    /// `---` or `...` at column 0, alone or followed by whitespace.
    static func isMarker(_ chars: [Unicode.Scalar], _ c: Unicode.Scalar) -> Bool {
        chars.count >= 3 && chars[0] == c && chars[1] == c && chars[2] == c && (chars.count == 3 || isSpace(chars[3]))
    }

    /// `-` followed by whitespace or the end of the line.
    static func isSequenceItem(_ chars: [Unicode.Scalar], _ p: Int) -> Bool {
        p < chars.count && chars[p] == "-" && (p + 1 == chars.count || isSpace(chars[p + 1]))
    }
}
