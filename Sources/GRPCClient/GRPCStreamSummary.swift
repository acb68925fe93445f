/// How a server-streaming call that ended OK went (its messages went to the handler).
public struct GRPCStreamSummary: Sendable {
    /// How many messages were delivered.
    public var messageCount: Int
    public var headers: [(name: String, value: String)]
    public var trailers: [(name: String, value: String)]

    public init(messageCount: Int, headers: [(name: String, value: String)], trailers: [(name: String, value: String)]) {
        self.messageCount = messageCount; self.headers = headers; self.trailers = trailers
    }
}
