/// Quoting for the remote side: ssh hands the command line to the account's login shell (`/bin/sh`).
enum ShellQuote {
    /// One word, single-quoted unless it is plainly safe.
    static func word(_ s: String) -> String {
        let safe = !s.isEmpty && s.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
                || c == 0x2e || c == 0x5f || c == 0x2d || c == 0x2f || c == 0x3d || c == 0x2c || c == 0x3a || c == 0x2b
        }
        return safe ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// A command line of quoted words.
    static func line(_ words: [String]) -> String { words.map(word).joined(separator: " ") }
}
