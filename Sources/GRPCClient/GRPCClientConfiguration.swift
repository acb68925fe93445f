/// What a `GRPCClient` applies to every call: limits, connection set-up and shared metadata.
public struct GRPCClientConfiguration: Sendable {
    /// The largest message the client sends or accepts (a bigger incoming frame fails the call
    /// with RESOURCE_EXHAUSTED before any of it is buffered).
    public var maxMessageBytes: Int
    /// The most bytes of response headers plus trailers a call accepts.
    public var maxHeaderBytes: Int
    /// Seconds allowed to open a connection (TCP and, for https, TLS).
    public var connectTimeout: Double
    /// Sent with every call before the call's own metadata, e.g. credentials.
    /// Values never appear in errors.
    public var metadata: [(name: String, value: String)]
    /// The `user-agent` header.
    public var userAgent: String
    /// A PEM file of extra CA certificates for https (a private CA in tests). Verification of
    /// the peer and its host name is always on; this only changes what is trusted.
    public var caBundlePath: String?

    public init(maxMessageBytes: Int = 16 << 20, maxHeaderBytes: Int = 64 << 10, connectTimeout: Double = 10,
                metadata: [(name: String, value: String)] = [], userAgent: String = "grpc-sandboxer/1.0",
                caBundlePath: String? = nil) {
        self.maxMessageBytes = maxMessageBytes; self.maxHeaderBytes = maxHeaderBytes
        self.connectTimeout = connectTimeout; self.metadata = metadata
        self.userAgent = userAgent; self.caBundlePath = caBundlePath
    }
}
