extension String {
    /// Cut or padded with spaces to exactly `length` characters (NSString's
    /// `padding(toLength:withPad: " ", startingAt: 0)`, for the text tables).
    public func paddedWithSpaces(toLength length: Int) -> String {
        count >= length ? String(prefix(length)) : self + String(repeating: " ", count: length - count)
    }
}
