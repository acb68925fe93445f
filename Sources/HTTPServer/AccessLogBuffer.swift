import Synchronization

/// Collects access-log lines and hands them to `write` in batches: the server flushes once per
/// round of its event loop (see `HTTPServer`'s `accessLogFlush`), so a busy server makes one
/// write for many requests instead of one per request, and a quiet one still logs each request
/// as soon as it is answered.
public final class AccessLogBuffer: Sendable {
    private let write: @Sendable (String) -> Void
    private let maxBytes: Int
    private let pending = Mutex("")

    /// `maxBytes` bounds what is held between flushes: a batch that reaches it is written at once.
    public init(maxBytes: Int = 64 * 1024, write: @escaping @Sendable (String) -> Void) {
        self.write = write
        self.maxBytes = max(1, maxBytes)
    }

    /// Adds the entry's line; writes the batch if it has grown to `maxBytes`.
    public func append(_ entry: AccessLogEntry) {
        append(line: entry.line)
    }

    /// Adds one line (a newline is appended).
    public func append(line: String) {
        let full: String? = pending.withLock { text in
            text += line
            text += "\n"
            guard text.utf8.count >= maxBytes else { return nil }
            defer { text = "" }
            return text
        }
        if let full { write(full) }
    }

    /// Writes whatever is pending (nothing when empty).
    public func flush() {
        let text = pending.withLock { text -> String in
            defer { text = "" }
            return text
        }
        if !text.isEmpty { write(text) }
    }
}
