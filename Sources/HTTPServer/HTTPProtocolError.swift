/// A request the server refuses before any handler sees it: the status to answer with, a stable
/// machine code, and one sentence for a person. The connection is closed after it is answered.
public struct HTTPProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The HTTP status to answer with (400, 408, 411, 413, 431, 505, 503).
    public var status: Int
    /// A stable snake_case code, e.g. `bad_request`, `header_too_large`.
    public var code: String
    /// One full sentence saying what was wrong.
    public var message: String

    public init(status: Int, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status) \(code): \(message)" }

    static func badRequest(_ message: String) -> HTTPProtocolError {
        HTTPProtocolError(status: 400, code: "bad_request", message: message)
    }

    static func headerTooLarge(limit: Int) -> HTTPProtocolError {
        HTTPProtocolError(status: 431, code: "header_too_large",
                          message: "The request line and headers exceed the limit of \(limit) bytes.")
    }

    static func bodyTooLarge(length: Int, limit: Int) -> HTTPProtocolError {
        HTTPProtocolError(status: 413, code: "body_too_large",
                          message: "The request body of \(length) bytes exceeds the limit of \(limit) bytes.")
    }

    static let lengthRequired = HTTPProtocolError(
        status: 411, code: "length_required",
        message: "Transfer-Encoding is not supported; send the request body with a Content-Length.")

    static let versionNotSupported = HTTPProtocolError(
        status: 505, code: "http_version_not_supported", message: "Only HTTP/1.0 and HTTP/1.1 are supported.")

    static let headerTimeout = HTTPProtocolError(
        status: 408, code: "request_timeout", message: "The request was not received in time.")

    static let overloaded = HTTPProtocolError(
        status: 503, code: "too_many_connections",
        message: "The server has too many open connections; retry later.")

    static let shuttingDown = HTTPProtocolError(
        status: 503, code: "shutting_down",
        message: "The server is shutting down and stopped waiting for this request; retry later.")
}
