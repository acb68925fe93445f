/// The answer to a unary call that ended OK.
public struct GRPCResponse: Sendable {
    /// The one response message (protobuf bytes).
    public var message: [UInt8]
    /// Response headers (`:status` excluded), names lower-case, in the order received.
    public var headers: [(name: String, value: String)]
    /// Trailers, including `grpc-status`; empty for a trailers-only answer.
    public var trailers: [(name: String, value: String)]

    public init(message: [UInt8], headers: [(name: String, value: String)], trailers: [(name: String, value: String)]) {
        self.message = message; self.headers = headers; self.trailers = trailers
    }
}

extension [(name: String, value: String)] {
    /// The first value under `name` (compared case-insensitively).
    public func value(of name: String) -> String? {
        let wanted = name.lowercased()
        return first { $0.name.lowercased() == wanted }?.value
    }
}
