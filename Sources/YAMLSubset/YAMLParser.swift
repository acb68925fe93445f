import Basics
/// Parses the strict YAML subset sandboxer's configuration uses: block mappings and sequences, plain
/// and quoted one-line scalars, comments, and one-line flow collections of scalars. Everything else
/// (anchors, aliases, tags, block scalars, multi-line values, several documents) is refused with an
/// error that says where and why, because a config format that silently guesses is worse than none.
///
/// It scans the document's UTF-8 bytes (YAMLParser+Bytes.swift) and builds a String only for each
/// key and scalar value: every CLI command parses a config, and String's per-scalar and per-Character
/// walking was most of what that cost (docs/performance.md "The YAML subset on bytes (session 9)").
public struct YAMLParser {
    /// Deeper block nesting than this is refused (it also bounds the parser's recursion).
    public static let maxDepth = 64

    let file: String
    var lines: [SourceLine] = []
    var index = 0
    let cursor = ColumnCursor()

    /// Parses one document. An empty document (only blanks and comments) is a null node at 1:1.
    public static func parse(_ text: String, file: String = "<input>") throws(YAMLError) -> YAMLNode {
        var parser = try YAMLParser(text: text, file: file)
        return try parser.parseDocument()
    }

    init(text: String, file: String) throws(YAMLError) {
        self.file = file
        var sawDocumentStart = false
        var sawContent = false
        for var line in Self.splitLines(Array(text.utf8)) {
            var p = 0
            while p < line.count, Self.isSpace(line[p]) { p += 1 }
            if p == line.count || line[p] == Byte.hash { continue }  // blank or comment-only: tabs don't matter
            for q in 0..<p where line[q] == Byte.tab {
                throw error(.tab, "Tabs are not allowed for indentation.", line: line, offset: q)
            }
            if p == 0, Self.isMarker(line, Byte.dash) {
                if sawContent || sawDocumentStart {
                    throw error(.unsupported, "Multiple documents are not supported; a file holds one document.",
                                line: line, offset: 0)
                }
                sawDocumentStart = true
                let rest = Self.skipSpaces(line, 3)
                if rest < line.count, line[rest] != Byte.hash {
                    throw error(.unsupported, "Content on the same line as \"---\" is not supported; start it on the next line.",
                                line: line, offset: rest)
                }
                continue
            }
            if p == 0, Self.isMarker(line, Byte.dot) {
                throw error(.unsupported, "Document end markers (...) are not supported.", line: line, offset: 0)
            }
            if p == 0, line[0] == Byte.percent {
                throw error(.unsupported, "Directives (%) are not supported.", line: line, offset: 0)
            }
            sawContent = true
            line.indent = p
            lines.append(line)
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
            throw error(.unsupported, "Nesting deeper than \(Self.maxDepth) levels is not supported.", line: line, offset: p)
        }
        if Self.isSequenceItem(line, p) {
            return try parseSequence(indent: p, depth: depth, sharesKeyIndent: false)
        }
        if try key(line, p) != nil {
            return try parseMapping(indent: p, depth: depth)
        }
        let node = try inlineValue(line, p)
        index += 1
        if index < lines.count, lines[index].indent > parentIndent {
            throw error(.indentation, "Unexpected indentation: the value on line \(line.number) is complete, and multi-line values are not supported.",
                        line: lines[index], offset: lines[index].indent)
        }
        return node
    }

    mutating func parseMapping(indent n: Int, depth: Int) throws(YAMLError) -> YAMLNode {
        let start = lines[index]
        var entries: [(key: YAMLKey, value: YAMLNode)] = []
        var keyIndex: [String: YAMLKey] = [:]
        while index < lines.count {
            let line = lines[index]
            if line.indent < n { break }
            if line.indent > n { throw inconsistent(line, expected: n) }
            if Self.isSequenceItem(line, n) {
                throw error(.syntax, "A sequence item cannot appear among the keys of a mapping; indent it under a key that ends with \":\".",
                            line: line, offset: n)
            }
            guard let (name, afterColon) = try key(line, n) else { throw try notAKey(line, n) }
            let key = YAMLKey(name, line: line.number, column: n + 1)
            if let first = Self.earlierKey(key, among: entries, index: &keyIndex) {
                throw error(.duplicateKey, "Duplicate key \(name.quotedForMessage) (first defined on line \(first.line)).",
                            line: line, offset: n)
            }
            let v = Self.skipSpaces(line, afterColon)
            let value: YAMLNode
            if v == line.count || line[v] == Byte.hash {
                // `key:` alone: a nested block, a sequence at the key's own indentation, or null.
                index += 1
                if index < lines.count, lines[index].indent > n {
                    value = try parseBlock(parentIndent: n, depth: depth + 1)
                } else if index < lines.count, lines[index].indent == n, Self.isSequenceItem(lines[index], n) {
                    value = try parseSequence(indent: n, depth: depth + 1, sharesKeyIndent: true)
                } else {
                    value = YAMLNode(.null, line: line.number, column: n + 1)
                }
            } else {
                value = try inlineValue(line, v)
                index += 1
                if index < lines.count, lines[index].indent > n {
                    throw error(.indentation, "Unexpected indentation: \(name.quotedForMessage) already has its value on line \(line.number), and multi-line values are not supported.",
                                line: lines[index], offset: lines[index].indent)
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
            guard Self.isSequenceItem(line, n) else {
                if sharesKeyIndent { break }
                throw error(.syntax, "Expected a sequence item (\"- value\") here, like the lines above at this indentation.",
                            line: line, offset: n)
            }
            var q = n + 1
            while q < line.count, line[q] == Byte.space { q += 1 }
            if q < line.count, line[q] == Byte.tab {
                throw error(.tab, "Tabs are not allowed for indentation.", line: line, offset: q)
            }
            if q == line.count || line[q] == Byte.hash {
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

    /// The entry key equal to `key` among a mapping's `entries`, if any. Keys are compared as
    /// Strings, so canonically equivalent ones ("é" precomposed and decomposed) are one key, as they
    /// were when the parser kept them in a dictionary; a short mapping is searched in place (no
    /// hashing, no allocation), a long one through `index`, built at its 8th key.
    static func earlierKey(_ key: YAMLKey, among entries: [(key: YAMLKey, value: YAMLNode)],
                           index: inout [String: YAMLKey]) -> YAMLKey? {
        if entries.count < 8 {
            for entry in entries where entry.key.name == key.name { return entry.key }
            return nil
        }
        if index.isEmpty {
            for entry in entries { index[entry.key.name] = entry.key }
        }
        return index.updateValue(key, forKey: key.name)
    }

    /// The error for a mapping line without `key:`, preferring a specific one (anchor, tag, quote…).
    func notAKey(_ line: SourceLine, _ p: Int) throws(YAMLError) -> YAMLError {
        _ = try inlineValue(line, p)
        var colon = p
        while colon < line.count, line[colon] != Byte.colon { colon += 1 }
        if colon + 1 < line.count, !Self.isSpace(line[colon + 1]) {
            return error(.syntax, "Expected \"key: value\"; put a space after the \":\".", line: line, offset: colon)
        }
        return error(.syntax, "Expected \"key: value\" here, like the other lines of this mapping.", line: line, offset: p)
    }

    func inconsistent(_ line: SourceLine, expected: Int) -> YAMLError {
        let spaces = line.indent == 1 ? "1 space" : "\(line.indent) spaces"
        return error(.indentation, "Inconsistent indentation: this line is indented \(spaces), but the block it belongs to is indented \(expected).",
              line: line, offset: line.indent)
    }
}
