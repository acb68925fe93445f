import Basics
/// The document as UTF-8 bytes: its lines, the ASCII bytes the grammar is made of, and the
/// conversion from byte offsets (what the scanner uses) to the 1-based scalar columns errors and
/// nodes report. YAML's structure characters are all ASCII, and no byte of a multi-byte UTF-8
/// sequence is ASCII, so scanning bytes finds exactly what scanning Unicode scalars found.
extension YAMLParser {
    /// One non-blank, non-comment line. Offsets into it are bytes from `start`. `indent` is where its
    /// content starts; for the first line of a `- item` it is moved past the dash, so the item's
    /// content parses as a block at that column. Indentation is spaces (and `- `), so `indent` is a
    /// byte offset and a scalar column at once.
    struct SourceLine {
        let number: Int
        /// The whole document, shared by every line (not a copy).
        let bytes: [UInt8]
        /// The line's first byte in `bytes` (after the byte order mark on line 1).
        let start: Int
        /// Bytes in the line, without the line break and a `\r` before it.
        let count: Int
        /// No byte above 0x7F: byte offsets are scalar offsets.
        let isASCII: Bool
        var indent: Int

        subscript(_ offset: Int) -> UInt8 { bytes[start &+ offset] }

        /// The text of bytes `from..<to`, as a String (the only place scalar text is built from the line).
        func text(_ from: Int, _ to: Int) -> String {
            String(decoding: bytes[(start + from)..<(start + to)], as: UTF8.self)
        }

        /// The text of the scalar that starts at byte `offset` (1 to 4 bytes, by its lead byte).
        func scalar(at offset: Int) -> String {
            let lead = self[offset]
            let length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
            return text(offset, min(count, offset + length))
        }
    }

    /// Remembers the last byte offset converted to a column on a non-ASCII line, so converting the
    /// left-to-right positions of a long flow collection stays linear in the line's length.
    final class ColumnCursor {
        var line = 0, offset = 0, scalars = 0
    }

    /// The 1-based column, counted in Unicode scalars, of byte `offset` of `line`.
    func column(_ line: SourceLine, _ offset: Int) -> Int {
        if line.isASCII { return offset + 1 }
        var at = 0, scalars = 0
        if cursor.line == line.number, cursor.offset <= offset { at = cursor.offset; scalars = cursor.scalars }
        while at < offset {
            if line[at] & 0xC0 != 0x80 { scalars += 1 }  // not a continuation byte: a scalar starts here
            at += 1
        }
        cursor.line = line.number; cursor.offset = offset; cursor.scalars = scalars
        return scalars + 1
    }

    /// An error at byte `offset` of a line (reported as a 1-based scalar column).
    func error(_ code: YAMLError.Code, _ message: String, line: SourceLine, offset: Int) -> YAMLError {
        YAMLError(code: code, message: message, file: file, line: line.number, column: column(line, offset))
    }

    /// The document's lines, split at `\n` only (a `\r` before it is dropped; other line breaks are
    /// content), each with its number, and whether it holds a non-ASCII byte.
    static func splitLines(_ bytes: [UInt8]) -> [SourceLine] {
        var lines: [SourceLine] = []
        var start = 0
        var number = 1
        // The byte order mark (EF BB BF) is dropped from the first line only.
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { start = 3 }
        while true {
            var end = start
            var high: UInt8 = 0
            while end < bytes.count, bytes[end] != Byte.newline { high |= bytes[end]; end += 1 }
            let count = end > start && bytes[end - 1] == Byte.cr ? end - start - 1 : end - start
            lines.append(SourceLine(number: number, bytes: bytes, start: start, count: count, isASCII: high < 0x80, indent: 0))
            if end == bytes.count { return lines }
            start = end + 1
            number += 1
        }
    }

    static func isSpace(_ c: UInt8) -> Bool { c == Byte.space || c == Byte.tab }

    static func skipSpaces(_ line: SourceLine, _ p: Int) -> Int {
        var q = p
        while q < line.count, isSpace(line[q]) { q += 1 }
        return q
    }

    /// `---` or `...` at column 0, alone or followed by whitespace.
    static func isMarker(_ line: SourceLine, _ c: UInt8) -> Bool {
        line.count >= 3 && line[0] == c && line[1] == c && line[2] == c && (line.count == 3 || isSpace(line[3]))
    }

    /// `-` followed by whitespace or the end of the line.
    static func isSequenceItem(_ line: SourceLine, _ p: Int) -> Bool {
        p < line.count && line[p] == Byte.dash && (p + 1 == line.count || isSpace(line[p + 1]))
    }

    /// Bytes `p..<end` without trailing blanks, as a String.
    static func trimmed(_ line: SourceLine, _ p: Int, _ end: Int) -> String {
        var e = end
        while e > p, isSpace(line[e - 1]) { e -= 1 }
        return line.text(p, e)
    }
}

/// The ASCII bytes the grammar names.
enum Byte {
    static let tab: UInt8 = 0x09, newline: UInt8 = 0x0A, cr: UInt8 = 0x0D, space: UInt8 = 0x20
    static let bang: UInt8 = 0x21, doubleQuote: UInt8 = 0x22, hash: UInt8 = 0x23, percent: UInt8 = 0x25
    static let ampersand: UInt8 = 0x26, singleQuote: UInt8 = 0x27, star: UInt8 = 0x2A, comma: UInt8 = 0x2C
    static let dash: UInt8 = 0x2D, dot: UInt8 = 0x2E, slash: UInt8 = 0x2F, colon: UInt8 = 0x3A
    static let greater: UInt8 = 0x3E, question: UInt8 = 0x3F, at: UInt8 = 0x40, openBracket: UInt8 = 0x5B
    static let backslash: UInt8 = 0x5C, closeBracket: UInt8 = 0x5D, backtick: UInt8 = 0x60
    static let openBrace: UInt8 = 0x7B, pipe: UInt8 = 0x7C, closeBrace: UInt8 = 0x7D
}
