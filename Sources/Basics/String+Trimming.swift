/// Trimming without Foundation's `CharacterSet`: the three sets the code uses, by `Character`.
extension StringProtocol {
    /// Without leading and trailing whitespace and newlines (Foundation's `.whitespacesAndNewlines`).
    public func trimmed() -> String { trimming { $0.isWhitespace } }

    /// Without leading and trailing spaces and tabs, newlines kept (Foundation's `.whitespaces`).
    public func trimmingSpaces() -> String { trimming { $0.isWhitespace && !$0.isNewline } }

    /// Without leading and trailing newlines (Foundation's `.newlines`).
    public func trimmingNewlines() -> String { trimming { $0.isNewline } }

    /// Without the leading and trailing characters for which `drop` is true.
    public func trimming(_ drop: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !drop($0) }) else { return "" }
        let last = lastIndex(where: { !drop($0) })!  // exists: `first` does
        return String(self[first...last])
    }
}
