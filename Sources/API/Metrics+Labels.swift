extension Metrics {
    /// The methods `sandboxer_http_requests_total` names; any other is counted as `other`.
    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"]

    /// `method` as a label value. The parser accepts any token as a method and an unmatched request
    /// is counted before authentication, so without this bound every new method a client invents
    /// would add a counter (and its text) that lives as long as the process.
    static func methodLabel(_ method: String) -> String {
        knownMethods.contains(method) ? method : "other"
    }
}
