import FoundationEssentials
import Glibc

extension HTTPResponse {
    /// Headers the server owns: a handler's values for these are dropped so framing stays correct.
    private static let serverOwned = ["Content-Length", "Transfer-Encoding", "Connection", "Date", "X-Request-Id"]

    /// The bytes to send: status line, headers (the handler's plus Content-Length, Date, X-Request-Id,
    /// and `Connection: close` or `keep-alive` as decided), blank line, and the body unless omitted.
    func wireBytes(version: String, headOnly: Bool, keepAlive: Bool, requestID: String, date: String) -> [UInt8] {
        let status = (100...599).contains(self.status) ? self.status : 500
        var text = "\(version == "HTTP/1.0" ? "HTTP/1.0" : "HTTP/1.1") \(status) \(Self.reasonPhrase(status))\r\n"
        for (name, value) in headers where !Self.serverOwned.contains(where: { HTTPHeaders.sameName($0, name) }) {
            // A CR or LF in a handler's header would split the response: never let one through.
            guard Self.isSafeField(name, value) else { continue }
            text += "\(name): \(value)\r\n"
        }
        let bodyless = status < 200 || status == 204 || status == 304
        if stream != nil, !bodyless {
            // Streamed: chunked on HTTP/1.1; an HTTP/1.0 body ends with the connection.
            if version != "HTTP/1.0" { text += "Transfer-Encoding: chunked\r\n" }
        } else if !bodyless { text += "Content-Length: \(body.count)\r\n" }
        text += "Date: \(date)\r\n"
        text += "X-Request-Id: \(requestID)\r\n"
        if !keepAlive {
            text += "Connection: close\r\n"
        } else if version == "HTTP/1.0" {
            text += "Connection: keep-alive\r\n"
        }
        text += "\r\n"
        var bytes = Array(text.utf8)
        if !headOnly, !bodyless, stream == nil { bytes.append(contentsOf: body) }
        return bytes
    }

    private static func isSafeField(_ name: String, _ value: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy(HTTPRequestParser.isTokenByte)
            && value.utf8.allSatisfy { $0 == 9 || ($0 >= 32 && $0 != 127) }
    }

    /// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) for the Date header, from Unix seconds.
    static func httpDate(_ unixSeconds: Double) -> String {
        var t = time_t(unixSeconds.rounded(.down))
        var parts = tm()
        gmtime_r(&t, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[Int(parts.tm_wday) % 7]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon) % 12]) "
            + "\(parts.tm_year + 1900) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
