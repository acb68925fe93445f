import Foundation
import HTTPClient
import PluginKit

/// When and how long to wait before trying an idempotent request again.
///
/// Retried: HTTP 429, 502, 503 and 504, and requests that got no answer (refused or reset
/// connections, timeouts). Waits grow exponentially with full jitter; a `Retry-After` in seconds
/// replaces the computed wait (bounded by `maxRetryAfter`).
struct RetryPolicy: Sendable {
    /// Tries in all, the first included.
    var attempts = 4
    /// The first wait's upper bound; each retry doubles it, up to `maxDelay`.
    var baseDelay = 0.25
    var maxDelay = 4.0
    /// A server asking for longer than this is waited for only this long, then tried again.
    var maxRetryAfter = 30.0

    static let retryableStatuses: Set<Int> = [429, 502, 503, 504]

    /// Whether a transport failure may be retried (the server may not have seen the request, or
    /// it is idempotent anyway).
    static func isRetryable(_ error: HTTPClientError) -> Bool {
        switch error.code {
        case .connect, .transport, .timeout, .resolve: return true
        case .invalidRequest, .tls, .responseTooLarge, .aborted, .cancelled, .libraryMissing: return false
        }
    }

    /// The wait before try `attempt + 1` (attempt counts from 1), honouring `retryAfter`.
    func delay(afterAttempt attempt: Int, retryAfter: Double?, random: Double = Double.random(in: 0...1)) -> Double {
        if let retryAfter { return min(max(0, retryAfter), maxRetryAfter) }
        let cap = min(maxDelay, baseDelay * pow(2, Double(attempt - 1)))
        return cap * random
    }

    /// `Retry-After` as seconds: a whole number, or an HTTP date relative to `now`.
    static func retryAfter(_ header: String?, now: Date) -> Double? {
        guard let text = header?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        if let seconds = Int(text), seconds >= 0 { return Double(seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: text) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }

    /// Waits `seconds` in short steps, returning false as soon as the host cancels the call.
    static func wait(_ seconds: Double, call: PluginCall) -> Bool {
        let end = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, seconds) * 1e9)
        while DispatchTime.now().uptimeNanoseconds < end {
            if call.isCancelled { return false }
            let left = Double(end - min(end, DispatchTime.now().uptimeNanoseconds)) / 1e9
            Thread.sleep(forTimeInterval: min(0.05, left))
        }
        return !call.isCancelled
    }
}
