import Glibc

/// This process's environment as a dictionary, read straight from `environ`.
///
/// `ProcessInfo.processInfo.environment` gives the same, but its first use builds the whole
/// `ProcessInfo` (measured 1.9% of a CLI `exec`'s CPU, docs/performance.md "The CLI process (session 8)").
public enum ProcessEnvironment {
    /// Every `NAME=value` entry; for a name given twice the first wins, as with `getenv`.
    public static func current() -> [String: String] {
        var result: [String: String] = [:]
        // `environ` may be null in a process started with no environment at all.
        let table: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = environ
        guard var entry = table else { return result }
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.utf8.firstIndex(of: UInt8(ascii: "=")) {
                let name = String(text[..<equals])
                if !name.isEmpty, result[name] == nil { result[name] = String(text[text.index(after: equals)...]) }
            }
            entry += 1
        }
        return result
    }
}
