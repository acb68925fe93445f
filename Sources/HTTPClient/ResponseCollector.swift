import Foundation

/// Gathers one response's headers and body from libcurl's callbacks, within a size limit.
///
/// Used only on the thread running `curl_easy_perform`, through an unretained pointer that
/// `HTTPClient.send` keeps alive for the whole call.
final class ResponseCollector {
    let limit: Int
    let isCancelled: (@Sendable () -> Bool)?
    private(set) var bytes: [UInt8] = []
    private(set) var headers: [(name: String, value: String)] = []
    private(set) var overflowed = false
    private(set) var cancelled = false

    init(limit: Int, isCancelled: (@Sendable () -> Bool)? = nil) { self.limit = limit; self.isCancelled = isCancelled }

    /// From curl's progress callback: whether to abort the transfer (remembered for the error).
    func shouldAbort() -> Bool {
        if !cancelled, isCancelled?() == true { cancelled = true }
        return cancelled
    }

    /// Appends body bytes; false (which aborts the transfer) once past the limit.
    func body(_ chunk: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count + chunk.count <= limit else { overflowed = true; return false }
        bytes.append(contentsOf: chunk)
        return true
    }

    /// One header line. A status line starts a new response (after 1xx or a proxy's CONNECT):
    /// only the final response's headers are kept.
    func header(_ line: UnsafeRawBufferPointer) {
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.hasPrefix("HTTP/") { headers.removeAll(); return }
        guard let colon = text.firstIndex(of: ":") else { return }
        headers.append((String(text[..<colon]), String(text[text.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
    }
}
