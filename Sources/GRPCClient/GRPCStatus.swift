/// How a gRPC call ended when it did not end OK: a status code and a message.
///
/// The server's statuses come from `grpc-status` / `grpc-message` (`fromServer` is true); the
/// client makes its own for what the server never answered (transport failures, deadlines,
/// cancellation, refused frames), with the codes gRPC's spec assigns them. Messages never contain
/// metadata values: those carry credentials.
public struct GRPCStatus: Error, Sendable, Equatable, CustomStringConvertible {
    /// The 17 status codes of gRPC, with their wire numbers.
    public enum Code: Int, Sendable, CaseIterable {
        case ok = 0
        case cancelled = 1
        case unknown = 2
        case invalidArgument = 3
        case deadlineExceeded = 4
        case notFound = 5
        case alreadyExists = 6
        case permissionDenied = 7
        case resourceExhausted = 8
        case failedPrecondition = 9
        case aborted = 10
        case outOfRange = 11
        case unimplemented = 12
        case `internal` = 13
        case unavailable = 14
        case dataLoss = 15
        case unauthenticated = 16

        /// The spec's name, e.g. `DEADLINE_EXCEEDED`.
        public var name: String {
            switch self {
            case .ok: "OK"
            case .cancelled: "CANCELLED"
            case .unknown: "UNKNOWN"
            case .invalidArgument: "INVALID_ARGUMENT"
            case .deadlineExceeded: "DEADLINE_EXCEEDED"
            case .notFound: "NOT_FOUND"
            case .alreadyExists: "ALREADY_EXISTS"
            case .permissionDenied: "PERMISSION_DENIED"
            case .resourceExhausted: "RESOURCE_EXHAUSTED"
            case .failedPrecondition: "FAILED_PRECONDITION"
            case .aborted: "ABORTED"
            case .outOfRange: "OUT_OF_RANGE"
            case .unimplemented: "UNIMPLEMENTED"
            case .internal: "INTERNAL"
            case .unavailable: "UNAVAILABLE"
            case .dataLoss: "DATA_LOSS"
            case .unauthenticated: "UNAUTHENTICATED"
            }
        }

        /// The code an HTTP status maps to when a response carries no `grpc-status` (gRPC's
        /// http-grpc-status-mapping).
        public init(httpStatus: Int) {
            switch httpStatus {
            case 400: self = .internal
            case 401: self = .unauthenticated
            case 403: self = .permissionDenied
            case 404: self = .unimplemented
            case 429, 502, 503, 504: self = .unavailable
            default: self = .unknown
            }
        }
    }

    public var code: Code
    /// The server's `grpc-message` (percent-decoded, possibly empty), or the client's own sentence.
    public var message: String
    /// Whether the server sent this status (false: the client concluded it).
    public var fromServer: Bool

    public init(code: Code, message: String, fromServer: Bool = false) {
        self.code = code; self.message = message; self.fromServer = fromServer
    }

    public var description: String {
        let source = fromServer ? "the server answered" : "the client reports"
        return message.isEmpty ? "gRPC status \(code.name): \(source) no message." : "gRPC status \(code.name): \(message)"
    }
}
