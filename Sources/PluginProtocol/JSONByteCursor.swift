/// A position in a buffer of JSON text, and the steps both JSON scanners take over it: the
/// validating `JSONSyntax.Scanner` and the value-building `JSONReader.Reader` read the same grammar.
protocol JSONByteCursor {
    var bytes: UnsafeBufferPointer<UInt8> { get }
    var at: Int { get set }
}

extension JSONByteCursor {
    var atEnd: Bool { at >= bytes.count }
    var peek: UInt8? { at < bytes.count ? bytes[at] : nil }

    /// Skips JSON's four white-space bytes.
    mutating func skipSpace() {
        while let b = peek, b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { at += 1 }
    }

    /// Steps over `b` when it is next; false (nothing consumed) otherwise.
    mutating func eat(_ b: UInt8) -> Bool {
        guard peek == b else { return false }
        at += 1
        return true
    }

    /// Steps over `text` when it is next; false (nothing consumed) otherwise.
    mutating func literal(_ text: StaticString) -> Bool {
        let n = text.utf8CodeUnitCount
        guard at + n <= bytes.count else { return false }
        for i in 0..<n where bytes[at + i] != text.utf8Start[i] { return false }
        at += n
        return true
    }
}
