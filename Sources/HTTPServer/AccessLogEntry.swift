import FoundationEssentials
import Glibc
import Basics
import Synchronization

/// One answered request, for the access log.
public struct AccessLogEntry: Sendable, Equatable {
    /// When the response was handed to the socket.
    public var timestamp: Date
    /// The request method, or `-` when the request could not be parsed.
    public var method: String
    /// The decoded path, or `-` when the request could not be parsed.
    public var path: String
    /// The status sent.
    public var status: Int
    /// Response body bytes (0 for HEAD).
    public var bytes: Int
    /// From the complete request to the response being ready (handler time plus queueing).
    public var durationSeconds: Double
    /// The peer (`127.0.0.1:5555`, `unix`).
    public var remoteAddress: String
    /// The X-Request-Id sent back (the client's own, or one the server generated).
    public var requestId: String?

    public init(timestamp: Date = Date(), method: String, path: String, status: Int, bytes: Int,
                durationSeconds: Double, remoteAddress: String, requestId: String?) {
        self.timestamp = timestamp
        self.method = method
        self.path = path
        self.status = status
        self.bytes = bytes
        self.durationSeconds = durationSeconds
        self.remoteAddress = remoteAddress
        self.requestId = requestId
    }

    /// One logfmt line: `ts=2026-11-23T13:02:25Z method=GET path=/v1/x status=200 bytes=12
    /// duration_ms=1.2 remote=127.0.0.1:5555 request_id=…` (values with spaces or quotes are quoted).
    ///
    /// Appended into one string sized up front, with the timestamp formatted once per second: an
    /// array of interpolated fields joined was 14% of a cached GET's instructions (docs/performance.md,
    /// "HTTP GET path (session 6)").
    public var line: String {
        var text = ""
        text.reserveCapacity(96 + path.utf8.count + remoteAddress.utf8.count + (requestId?.utf8.count ?? 0))
        text += "ts="
        text += Self.timestamp(timestamp)
        text += " method="
        text += Self.value(method)
        text += " path="
        text += Self.value(path)
        text += " status="
        text += String(status)
        text += " bytes="
        text += String(bytes)
        text += " duration_ms="
        text += Self.milliseconds(durationSeconds)
        text += " remote="
        text += Self.value(remoteAddress)
        if let requestId {
            text += " request_id="
            text += Self.value(requestId)
        }
        return text
    }

    /// The last timestamp formatted, by whole second (RFC 3339 here has no fractions).
    private static let lastTimestamp = Mutex<(second: Double, text: String)>((.nan, ""))

    /// `RFC3339.format(date)`, formatted once per second.
    static func timestamp(_ date: Date) -> String {
        let second = date.timeIntervalSince1970.rounded(.down)
        if let cached = lastTimestamp.withLock({ $0.second == second ? $0.text : nil }) { return cached }
        let text = RFC3339.format(date)
        lastTimestamp.withLock { $0 = (second, text) }
        return text
    }

    /// Milliseconds with one decimal, without Foundation formatting (locale-independent).
    private static func milliseconds(_ seconds: Double) -> String {
        let tenths = Int((max(seconds, 0) * 10_000).rounded())
        return String(tenths / 10) + "." + String(tenths % 10)
    }

    /// A logfmt value: bare when safe, else a JSON-style quoted string (so a path cannot forge fields).
    private static func value(_ text: String) -> String {
        // On UTF-8 bytes: every scalar outside 0x21...0x7E has only bytes outside it, so this is the
        // same test as on scalars, without decoding them.
        let safe = !text.isEmpty && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x3D && $0 != 0x5C }
        return safe ? text : JSONText.quote(text)
    }
}
