import FoundationEssentials
import Glibc
import Synchronization

extension HTTPResponse {
    /// Headers the server owns: a handler's values for these are dropped so framing stays correct.
    private static let serverOwned = ["Content-Length", "Transfer-Encoding", "Connection", "Date", "X-Request-Id"]

    /// The bytes to send: status line, headers (the handler's plus Content-Length, Date, X-Request-Id,
    /// and `Connection: close` or `keep-alive` as decided), blank line, and the body unless omitted.
    func wireBytes(version: String, headOnly: Bool, keepAlive: Bool, requestID: String, date: String) -> [UInt8] {
        let status = (100...599).contains(self.status) ? self.status : 500
        let bodyless = status < 200 || status == 204 || status == 304
        let withBody = !headOnly && !bodyless && stream == nil
        // Built as bytes in one buffer sized up front: string interpolation per header line was a
        // visible share of each response (docs/performance.md, "HTTP hot path").
        var bytes: [UInt8] = []
        bytes.reserveCapacity(160 + headers.count * 48 + (withBody ? body.count : 0))
        bytes.append(contentsOf: (version == "HTTP/1.0" ? "HTTP/1.0 " : "HTTP/1.1 ").utf8)
        bytes.appendUTF8(String(status))
        bytes.append(32)
        bytes.appendUTF8(Self.reasonPhrase(status))
        bytes.append(contentsOf: Self.crlf)
        for (name, value) in headers where !Self.serverOwned.contains(where: { HTTPHeaders.sameName($0, name) }) {
            // A CR or LF in a handler's header would split the response: never let one through.
            guard Self.isSafeField(name, value) else { continue }
            Self.appendField(&bytes, name, value)
        }
        if stream != nil, !bodyless {
            // Streamed: chunked on HTTP/1.1; an HTTP/1.0 body ends with the connection.
            if version != "HTTP/1.0" { Self.appendField(&bytes, "Transfer-Encoding", "chunked") }
        } else if !bodyless { Self.appendField(&bytes, "Content-Length", String(body.count)) }
        Self.appendField(&bytes, "Date", date)
        Self.appendField(&bytes, "X-Request-Id", requestID)
        if !keepAlive {
            Self.appendField(&bytes, "Connection", "close")
        } else if version == "HTTP/1.0" {
            Self.appendField(&bytes, "Connection", "keep-alive")
        }
        bytes.append(contentsOf: Self.crlf)
        // Through its raw bytes: one copy, not Data iterated as a generic sequence.
        if withBody { body.withUnsafeBytes { bytes.append(contentsOf: $0) } }
        return bytes
    }

    private static let crlf: [UInt8] = [13, 10]

    private static func appendField(_ bytes: inout [UInt8], _ name: String, _ value: String) {
        bytes.appendUTF8(name)
        bytes.append(58)
        bytes.append(32)
        bytes.appendUTF8(value)
        bytes.append(contentsOf: crlf)
    }

    private static func isSafeField(_ name: String, _ value: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy(HTTPRequestParser.isTokenByte)
            && value.utf8.allSatisfy { $0 == 9 || ($0 >= 32 && $0 != 127) }
    }

    /// The last Date header made, by whole second: every response of the same second reuses it.
    private static let lastDate = Mutex<(second: Int, text: String)>((Int.min, ""))

    /// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) for the Date header, from Unix seconds.
    /// Formatted once per second (the value only changes then).
    static func httpDate(_ unixSeconds: Double) -> String {
        let second = Int(unixSeconds.rounded(.down))
        if let cached = lastDate.withLock({ $0.second == second ? $0.text : nil }) { return cached }
        let text = formatHTTPDate(second)
        lastDate.withLock { $0 = (second, text) }
        return text
    }

    private static func formatHTTPDate(_ second: Int) -> String {
        var t = time_t(second)
        var parts = tm()
        gmtime_r(&t, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[Int(parts.tm_wday) % 7]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon) % 12]) "
            + "\(parts.tm_year + 1900) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
