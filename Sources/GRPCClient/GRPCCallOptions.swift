/// Per-call settings: metadata, deadline and a cancellation check.
public struct GRPCCallOptions: Sendable {
    /// Request metadata (lower-case names; printable ASCII values; `-bin` values base64 by the
    /// caller). Sent after the client's configured metadata. Values never appear in errors.
    public var metadata: [(name: String, value: String)]
    /// Seconds the call may take, sent as `grpc-timeout` and enforced locally too; nil: no deadline
    /// (a long stream is never cut by the client).
    public var timeout: Double?
    /// Polled from libcurl's progress callback (at least about once a second, more often while
    /// data flows); returning true aborts the call with CANCELLED.
    public var isCancelled: (@Sendable () -> Bool)?

    public init(metadata: [(name: String, value: String)] = [], timeout: Double? = nil,
                isCancelled: (@Sendable () -> Bool)? = nil) {
        self.metadata = metadata; self.timeout = timeout; self.isCancelled = isCancelled
    }
}
