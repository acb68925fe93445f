import FoundationEssentials
import Glibc
import Core
import Config
import Store
import HTTPClient
import Basics
import PluginProtocol

/// The `Sandboxer-Signature` scheme: `v1=` + hex HMAC-SHA256(secret, "<timestamp>.<body>").
///
/// Signing the timestamp with the body lets receivers refuse replays: a captured request can only
/// be resent while its `Sandboxer-Timestamp` is within their tolerance.
public enum WebhookSignature {
    /// The scheme's version prefix; a future scheme gets a new one, and a header may carry both.
    public static let version = "v1"
    /// The tolerance receivers are advised to use (docs/webhooks.md), and `verify`'s default.
    public static let defaultTolerance: Double = 300

    /// The header value for `body` sent at `timestamp` (unix seconds).
    public static func sign(secret: [UInt8], timestamp: Int64, body: [UInt8]) -> String {
        "\(version)=" + SHA256.hex(SHA256.hmac(key: secret, message: Array("\(timestamp).".utf8) + body))
    }

    /// Whether `header` (one or more comma-separated `v1=<hex>`) signs `body` at `timestamp` under
    /// `secret`, and `timestamp` is within `tolerance` seconds of `now`. What receivers must do,
    /// written once here so the tests hold the documented recipe to the sender.
    public static func verify(header: String, secret: [UInt8], timestamp: String, body: [UInt8],
                              now: Date, tolerance: Double = defaultTolerance) -> Bool {
        guard let seconds = Int64(timestamp), abs(now.timeIntervalSince1970 - Double(seconds)) <= tolerance else { return false }
        let expected = Array(sign(secret: secret, timestamp: seconds, body: body).utf8)
        var matched = false
        for candidate in header.split(separator: ",") {
            // Every candidate is compared (in constant time), so timing does not tell which one matched.
            if SHA256.constantTimeEqual(Array(candidate.trimmingSpaces().utf8), expected) { matched = true }
        }
        return matched
    }
}
