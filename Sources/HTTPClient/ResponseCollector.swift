import FoundationEssentials
import Glibc
import Basics

/// Gathers one response's headers and body from libcurl's callbacks, within a size limit.
///
/// Used only on the thread running `curl_easy_perform`, through an unretained pointer that
/// `HTTPClient.send` keeps alive for the whole call. In streaming mode the body goes to `sink`
/// instead of being kept, and `shouldAbort` is polled from curl's progress callback.
final class ResponseCollector {
    let limit: Int
    private(set) var bytes: [UInt8] = []
    private(set) var headers: [(name: String, value: String)] = []
    private(set) var overflowed = false
    /// The status of the response being received (0 until a status line arrives).
    private(set) var status = 0
    /// True when the sink or `shouldAbort` stopped the transfer.
    private(set) var stopped = false
    let sink: ((Int, UnsafeRawBufferPointer) -> Bool)?
    let shouldAbort: (() -> Bool)?

    init(limit: Int, sink: ((Int, UnsafeRawBufferPointer) -> Bool)? = nil, shouldAbort: (() -> Bool)? = nil) {
        self.limit = limit
        self.sink = sink
        self.shouldAbort = shouldAbort
    }

    /// Appends body bytes (or hands them to the sink); false (which aborts the transfer) once past
    /// the limit or when the sink wants no more.
    func body(_ chunk: UnsafeRawBufferPointer) -> Bool {
        if let sink {
            guard sink(status, chunk) else { stopped = true; return false }
            return true
        }
        guard bytes.count + chunk.count <= limit else { overflowed = true; return false }
        bytes.append(contentsOf: chunk)
        return true
    }

    /// Whether the transfer should stop now (polled by curl's progress callback).
    func abortRequested() -> Bool {
        guard let shouldAbort, shouldAbort() else { return false }
        stopped = true
        return true
    }

    /// One header line. A status line starts a new response (after 1xx or a proxy's CONNECT):
    /// only the final response's headers are kept.
    func header(_ line: UnsafeRawBufferPointer) {
        let text = String(decoding: line, as: UTF8.self).trimmed()
        if text.hasPrefix("HTTP/") {
            headers.removeAll()
            let parts = text.split(separator: " ", maxSplits: 2)
            status = parts.count >= 2 ? Int(parts[1]) ?? 0 : 0
            return
        }
        guard let colon = text.firstIndex(of: ":") else { return }
        headers.append((String(text[..<colon]), String(text[text.index(after: colon)...]).trimmingSpaces()))
    }
}
