import Basics
import PluginProtocol
/// One configured webhook sink: where the events outbox is delivered, signed with its secret.
public struct WebhookSink: Sendable, Equatable, CustomStringConvertible {
    /// Every event type the host writes; a sink's `events` filter may only name these.
    public static let eventTypes = SandboxEventType.allCases.map(\.rawValue)

    /// Unique among the sinks; names the sink's cursor and deliveries in the store.
    public var name: String
    /// `http://` or `https://`; never printed, since webhook URLs often carry credentials.
    public var url: String
    /// The HMAC key, or where to read it.
    public var secret: WebhookSecret
    /// Event types to deliver; nil delivers every type.
    public var events: Set<String>?
    /// Limit on one delivery attempt (connect, send, answer).
    public var timeout: TTLDuration
    /// Attempts before a delivery is dead-lettered.
    public var maxAttempts: Int
    public var backoff: WebhookBackoff

    public static let defaultTimeout = TTLDuration(seconds: 10)
    public static let defaultMaxAttempts = 10

    public init(name: String, url: String, secret: WebhookSecret, events: Set<String>? = nil,
                timeout: TTLDuration = WebhookSink.defaultTimeout, maxAttempts: Int = WebhookSink.defaultMaxAttempts,
                backoff: WebhookBackoff = WebhookBackoff()) {
        self.name = name; self.url = url; self.secret = secret; self.events = events
        self.timeout = timeout; self.maxAttempts = maxAttempts; self.backoff = backoff
    }

    /// Whether an event of this type goes to this sink.
    public func accepts(_ type: String) -> Bool { events?.contains(type) ?? true }

    /// Names the sink without its URL or secret, for logs and messages.
    public var description: String {
        let filter = events.map { $0.sorted().joined(separator: ",") } ?? "all"
        return "webhook sink \(name) (events \(filter), timeout \(timeout), max_attempts \(maxAttempts), backoff \(backoff.initial)..\(backoff.max), secret \(secret))"
    }
}
