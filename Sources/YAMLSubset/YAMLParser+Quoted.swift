import Basics
/// Quoted scalars: the text between the quotes, unescaped, as one String.
extension YAMLParser {
    /// A single- or double-quoted scalar starting at `p`; returns its text and the offset after the closing quote.
    func quoted(_ line: SourceLine, _ p: Int) throws(YAMLError) -> (String, Int) {
        let quote = line[p]
        // Most quoted values hold no escape: find the closing quote and take the bytes between as they are.
        var q = p + 1
        while q < line.count {
            let c = line[q]
            if c == quote {
                if quote == Byte.singleQuote, q + 1 < line.count, line[q + 1] == Byte.singleQuote { break }
                return (line.text(p + 1, q), q + 1)
            }
            if c == Byte.backslash, quote == Byte.doubleQuote { break }
            q += 1
        }
        var out: [UInt8] = []
        out.reserveCapacity(line.count - p)
        for i in (p + 1)..<q { out.append(line[i]) }
        while q < line.count {
            let c = line[q]
            if quote == Byte.singleQuote {
                if c == Byte.singleQuote {
                    if q + 1 < line.count, line[q + 1] == Byte.singleQuote { out.append(Byte.singleQuote); q += 2; continue }
                    return (String(decoding: out, as: UTF8.self), q + 1)
                }
                out.append(c); q += 1
                continue
            }
            if c == Byte.doubleQuote { return (String(decoding: out, as: UTF8.self), q + 1) }
            if c != Byte.backslash { out.append(c); q += 1; continue }
            guard q + 1 < line.count else { break }
            switch line[q + 1] {
            case Byte.doubleQuote, Byte.backslash, Byte.slash: out.append(line[q + 1]); q += 2
            case UInt8(ascii: "n"): out.append(Byte.newline); q += 2
            case UInt8(ascii: "t"): out.append(Byte.tab); q += 2
            case UInt8(ascii: "r"): out.append(Byte.cr); q += 2
            case UInt8(ascii: "u"):
                let (scalar, next) = try unicodeEscape(line, q)
                out.append(contentsOf: scalar.utf8)
                q = next
            default:
                throw error(.syntax, "Unknown escape \(("\\" + line.scalar(at: q + 1)).quotedForMessage) in a double-quoted value; the supported escapes are \\\" \\\\ \\/ \\n \\t \\r and \\uXXXX.",
                            line: line, offset: q)
            }
        }
        throw error(.syntax, "This quoted value is not closed on the same line; multi-line values are not supported.",
                    line: line, offset: p)
    }

    /// `\uXXXX` at `q` (the backslash), including a `\uD83D\uDE00`-style surrogate pair.
    func unicodeEscape(_ line: SourceLine, _ q: Int) throws(YAMLError) -> (Unicode.Scalar, Int) {
        func hex4(_ at: Int) -> UInt32? {
            // Four bytes that are hex digits are four scalars that are; a multi-byte scalar among
            // them is not a digit either way.
            guard at + 4 <= line.count else { return nil }
            var v: UInt32 = 0
            for i in at..<(at + 4) {
                let c = line[i]
                let digit: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
                default: return nil
                }
                v = v * 16 + UInt32(digit)
            }
            return v
        }
        guard let high = hex4(q + 2) else {
            throw error(.syntax, "Expected four hexadecimal digits after \\u.", line: line, offset: q)
        }
        var value = high
        var next = q + 6
        if (0xD800..<0xDC00).contains(high) {
            guard next + 1 < line.count, line[next] == Byte.backslash, line[next + 1] == UInt8(ascii: "u"),
                  let low = hex4(next + 2), (0xDC00..<0xE000).contains(low)
            else {
                throw error(.syntax, "A \\u escape names half of a surrogate pair without the other half.", line: line, offset: q)
            }
            value = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            next += 6
        }
        guard let scalar = Unicode.Scalar(value) else {
            throw error(.syntax, "A \\u escape names half of a surrogate pair without the other half.", line: line, offset: q)
        }
        return (scalar, next)
    }
}
