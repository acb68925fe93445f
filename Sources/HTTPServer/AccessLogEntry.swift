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
    /// Appended as bytes into one buffer sized up front, with the timestamp formatted once per
    /// second: an array of interpolated fields joined was 14% of a cached GET's instructions
    /// (docs/performance.md, "HTTP GET path (session 6)").
    public var line: String {
        var out: [UInt8] = []
        out.reserveCapacity(112 + path.utf8.count + remoteAddress.utf8.count + (requestId?.utf8.count ?? 0))
        func put(_ text: String) { out.appendUTF8(text) }
        func put(_ number: Int) { out.appendUTF8(String(number)) }
        put("ts="); put(Self.timestamp(timestamp))
        put(" method="); putValue(method, into: &out)
        put(" path="); putValue(path, into: &out)
        put(" status="); put(status)
        put(" bytes="); put(bytes)
        let tenths = Int((max(durationSeconds, 0) * 10_000).rounded())
        put(" duration_ms="); put(tenths / 10); out.append(UInt8(ascii: ".")); put(tenths % 10)
        put(" remote="); putValue(remoteAddress, into: &out)
        if let requestId { put(" request_id="); putValue(requestId, into: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `text` as a logfmt value: bare when safe, else JSON-style quoted.
    private func putValue(_ text: String, into out: inout [UInt8]) {
        out.appendUTF8(Self.isBare(text) ? text : JSONText.quote(text))
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

    /// Whether `text` is a logfmt value as it is; any other is a JSON-style quoted string (so a
    /// path cannot forge fields). On UTF-8 bytes: every scalar outside 0x21...0x7E has only bytes
    /// outside it, so this is the same test as on scalars, without decoding them.
    private static func isBare(_ text: String) -> Bool {
        !text.isEmpty && text.allUTF8Bytes { $0 > 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x3D && $0 != 0x5C }
    }
}
