import FoundationEssentials
import Glibc

/// One complete HTTP request as the server hands it to the handler.
public struct HTTPRequest: Sendable, Equatable {
    /// The method token exactly as sent (`GET`, `POST`, …; case-sensitive per RFC 9110).
    public var method: String
    /// The raw request-target (`/v1/sandboxes?state=ready`).
    public var target: String
    /// The percent-decoded path without the query. Not normalised: `%2F` decodes to `/`, so routers
    /// that split on `/` should split `rawPath` and decode each segment (see `pathSegments`).
    public var path: String
    /// The path exactly as sent, still percent-encoded, without the query.
    public var rawPath: String
    /// Query parameters, percent- and `+`-decoded; repeated keys keep every value in order.
    public var query: [String: [String]]
    /// `HTTP/1.1` or `HTTP/1.0`.
    public var version: String
    /// The request's header fields, in order.
    public var headers: HTTPHeaders
    /// The body (exactly Content-Length bytes; empty without one).
    public var body: Data
    /// The peer: `127.0.0.1:5555`, `[::1]:5555`, or `unix` for a unix-socket client.
    public var remoteAddress: String

    /// A request built from parts, e.g. for handler tests; the target is split and decoded like a
    /// received one (an undecodable target is kept raw as the path).
    public init(method: String = "GET", target: String = "/", version: String = "HTTP/1.1",
                headers: HTTPHeaders = HTTPHeaders(), body: Data = Data(), remoteAddress: String = "") {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
        if case .success(let parts) = RequestTarget.parse(Array(target.utf8), method: method) {
            path = parts.path
            rawPath = parts.rawPath
            query = parts.query
        } else {
            let raw = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            path = String(raw)
            rawPath = String(raw)
            query = [:]
        }
    }

    /// A request from already-parsed parts (the parser's path: no second parse of the target).
    init(method: String, target: String, version: String, headers: HTTPHeaders, parts: RequestTarget) {
        self.method = method
        self.target = target
        self.path = parts.path
        self.rawPath = parts.rawPath
        self.query = parts.query
        self.version = version
        self.headers = headers
        self.body = Data()
        self.remoteAddress = ""
    }

    /// The first value of query parameter `name`, or nil.
    public func queryValue(_ name: String) -> String? { query[name]?.first }

    /// The path split on `/` in its raw form, each segment then percent-decoded: `%2F` stays inside
    /// its segment. `/v1/a%2Fb` → `["v1", "a/b"]`; `/` → `[]`.
    public var pathSegments: [String] {
        guard rawPath != "/" else { return [] }
        return rawPath.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { segment in
            if case .success(let bytes) = RequestTarget.percentDecode(Array(segment.utf8), plusIsSpace: false) {
                return String(decoding: bytes, as: UTF8.self)
            }
            return String(segment)
        }
    }

    /// Whether the client wants the connection kept open after this request: HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
    public var keepAlive: Bool {
        if headers.hasToken("close", in: "Connection") { return false }
        if version == "HTTP/1.0" { return headers.hasToken("keep-alive", in: "Connection") }
        return true
    }
}
