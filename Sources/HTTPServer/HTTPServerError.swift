/// Why the server could not start or serve: a code and one full sentence.
public struct HTTPServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure.
    public enum Code: String, Sendable, Equatable {
        /// The listen address text could not be parsed.
        case invalidAddress = "invalid_address"
        /// The host name did not resolve.
        case resolve
        /// socket(2) or bind(2) failed (address in use, permission, a non-socket file at a unix path…).
        case bind
        /// listen(2) failed.
        case listen
        /// epoll, eventfd or another I/O set-up call failed.
        case io
        /// `start()` was called twice, or after `shutdown()`.
        case state
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
