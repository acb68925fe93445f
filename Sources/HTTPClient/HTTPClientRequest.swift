/// One HTTP request for `HTTPClient.send`: everything it needs, including its time limits.
public struct HTTPClientRequest: Sendable {
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    public var method: String
    /// An absolute `http://` or `https://` URL.
    public var url: String
    /// Sent in this order; names and values must not contain CR or LF.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Seconds allowed to establish the connection (TCP and TLS).
    public var connectTimeout: Double
    /// Seconds allowed for the whole exchange, connection included.
    public var timeout: Double
    /// A longer response body fails with `.responseTooLarge` instead of growing without bound.
    public var maxResponseBytes: Int
    /// Polled while the request runs (a few times a second at least); true aborts it with `.cancelled`.
    public var isCancelled: (@Sendable () -> Bool)?

    public init(method: String, url: String, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
                connectTimeout: Double = 10, timeout: Double = 30, maxResponseBytes: Int = 1 << 20,
                isCancelled: (@Sendable () -> Bool)? = nil) {
        self.method = method; self.url = url; self.headers = headers; self.body = body
        self.connectTimeout = connectTimeout; self.timeout = timeout; self.maxResponseBytes = maxResponseBytes
        self.isCancelled = isCancelled
    }
}
