import FoundationEssentials
import Glibc
import Basics

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
    public var line: String {
        var fields = [
            "ts=\(RFC3339.format(timestamp))",
            "method=\(Self.value(method))",
            "path=\(Self.value(path))",
            "status=\(status)",
            "bytes=\(bytes)",
            "duration_ms=\(Self.milliseconds(durationSeconds))",
            "remote=\(Self.value(remoteAddress))",
        ]
        if let requestId { fields.append("request_id=\(Self.value(requestId))") }
        return fields.joined(separator: " ")
    }

    /// Milliseconds with one decimal, without Foundation formatting (locale-independent).
    private static func milliseconds(_ seconds: Double) -> String {
        let tenths = Int((max(seconds, 0) * 10_000).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    /// A logfmt value: bare when safe, else a JSON-style quoted string (so a path cannot forge fields).
    private static func value(_ text: String) -> String {
        let safe = !text.isEmpty && text.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F && $0 != "\"" && $0 != "=" && $0 != "\\" }
        return safe ? text : JSONText.quote(text)
    }
}
