import FoundationEssentials
import Glibc
import Basics

/// A response as a handler returns it. The server adds Content-Length, Date, Connection and
/// X-Request-Id itself (values the handler set for those are replaced).
public struct HTTPResponse: Sendable, Equatable {
    /// The status code (100–599).
    public var status: Int
    /// Header fields to send, in order.
    public var headers: HTTPHeaders
    /// The body; omitted on the wire for HEAD requests and for 204/304 responses.
    public var body: Data
    /// A body written while it is sent (then `body` is ignored); see `HTTPBodyStream`.
    public var stream: HTTPBodyStream?

    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A response with `Content-Type: application/json` and `body`.
    public static func json(_ status: Int, _ body: Data) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: body)
    }

    /// The server's error shape: `{"error":{"code":"…","message":"…"}}`.
    public static func error(_ status: Int, code: String, message: String) -> HTTPResponse {
        let text = #"{"error":{"code":\#(JSONText.quote(code)),"message":\#(JSONText.quote(message))}}"#
        return .json(status, Data(text.utf8))
    }

    /// The standard reason phrase for `status` ("" for unknown codes; clients ignore it anyway).
    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 410: "Gone"
        case 411: "Length Required"
        case 412: "Precondition Failed"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: ""
        }
    }
}

