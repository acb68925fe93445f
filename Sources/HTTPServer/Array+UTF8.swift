extension Array where Element == UInt8 {
    /// Appends `text`'s UTF-8 in one copy: appending `text.utf8` as a sequence walks it byte by byte
    /// (a visible share of building a response head and an access-log line).
    mutating func appendUTF8(_ text: String) {
        var text = text
        text.withUTF8 { append(contentsOf: $0) }
    }
}

extension String {
    /// Whether every UTF-8 byte of the string satisfies `test`, read in one contiguous pass.
    func allUTF8Bytes(_ test: (UInt8) -> Bool) -> Bool {
        var text = self
        return text.withUTF8 { $0.allSatisfy(test) }
    }
}
