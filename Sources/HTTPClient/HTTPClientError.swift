/// A request that got no HTTP response: a code to branch on and one full sentence for people.
///
/// Messages name the URL's scheme, host and port only: paths and queries of webhook URLs often
/// carry secrets, and these messages end up in logs and in the store.
public struct HTTPClientError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The request itself is unusable (bad URL or scheme, a header with a line break).
        case invalidRequest = "invalid_request"
        /// The host name did not resolve.
        case resolve
        /// The connection was refused or could not be established.
        case connect
        /// The connect or total time limit passed.
        case timeout
        /// TLS failed (handshake, certificate).
        case tls
        /// The response body was longer than the request allowed.
        case responseTooLarge = "response_too_large"
        /// The caller stopped the transfer (a streaming sink or an abort check said so).
        case aborted
        /// Anything else on the wire (reset connection, malformed response…).
        case transport
        /// The request's `isCancelled` said so before the exchange finished.
        case cancelled
        /// libcurl (loaded on the first request) is not installed or not usable.
        case libraryMissing = "library_missing"
    }

    public var code: Code
    public var message: String
    /// libcurl's `CURLcode`, when libcurl reported the failure.
    public var curlCode: Int32?

    public init(code: Code, message: String, curlCode: Int32? = nil) {
        self.code = code; self.message = message; self.curlCode = curlCode
    }

    public var description: String { message }
}
