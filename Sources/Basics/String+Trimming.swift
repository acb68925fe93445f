/// Trimming without Foundation's `CharacterSet`: the three sets the code uses, by `Character`.
extension StringProtocol {
    /// Without leading and trailing whitespace and newlines (Foundation's `.whitespacesAndNewlines`).
    public func trimmed() -> String {
        asciiTrimmed { $0 == 0x20 || (0x09...0x0D).contains($0) } ?? trimming { $0.isWhitespace }
    }

    /// Without leading and trailing spaces and tabs, newlines kept (Foundation's `.whitespaces`).
    public func trimmingSpaces() -> String {
        asciiTrimmed { $0 == 0x20 || $0 == 0x09 } ?? trimming { $0.isWhitespace && !$0.isNewline }
    }

    /// Without leading and trailing newlines (Foundation's `.newlines`).
    public func trimmingNewlines() -> String {
        asciiTrimmed { (0x0A...0x0D).contains($0) } ?? trimming { $0.isNewline }
    }

    /// Without the leading and trailing characters for which `drop` is true.
    public func trimming(_ drop: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !drop($0) }) else { return "" }
        let last = lastIndex(where: { !drop($0) })!  // exists: `first` does
        return String(self[first...last])
    }

    /// The same as trimming by `Character` when what is kept starts and ends with an ASCII byte; nil
    /// (ask the `Character` path) otherwise. `dropped` is the ASCII part of the set, and the three sets
    /// drop only single-scalar characters (or CR LF, both of whose bytes are in the set), so a kept
    /// ASCII byte at either edge begins or ends a character that is kept, and no dropped byte can
    /// belong to a kept character: an ASCII scalar never joins a neighbour that is also ASCII or a
    /// grapheme extender after it. Why: `Character` iteration (grapheme breaking, Unicode property
    /// tables at first use) was ~12 K instructions per call, 6% of a CLI destroy (callgrind).
    private func asciiTrimmed(_ dropped: (UInt8) -> Bool) -> String? {
        let bytes = utf8
        var first: Index? = nil, last = bytes.startIndex
        var at = bytes.startIndex
        while at != bytes.endIndex {
            if !dropped(bytes[at]) {
                if first == nil { first = at }
                last = at
            }
            bytes.formIndex(after: &at)
        }
        guard let first else { return "" }
        guard bytes[first] < 0x80, bytes[last] < 0x80 else { return nil }
        return String(self[first...last])
    }
}
