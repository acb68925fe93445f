import FoundationEssentials
import Glibc
import Core
import Config
import Store
import HTTPClient
import Basics
import PluginProtocol

/// What one delivery attempt sends: the JSON body and the headers, signed.
public struct WebhookMessage: Sendable {
    public var body: [UInt8]
    public var headers: [(name: String, value: String)]

    /// The receiver's idempotency key: the store's id and the event's seq, the same on every attempt
    /// and across restarts, and distinct between two stores.
    public static func eventId(storeId: String, seq: Int64) -> String { SandboxEvent.externalId(storeId: storeId, seq: seq) }

    /// The body is the event as `GET /v1/events` prints it, plus `id`, as compact key-sorted JSON.
    public static func body(for event: SandboxEvent, storeId: String) -> [UInt8] {
        var object = event.jsonValue.objectValue ?? [:]
        object["id"] = .string(eventId(storeId: storeId, seq: event.seq))
        var text = JSONValue.object(object).rendered(pretty: false)
        if text.hasSuffix("\n") { text.removeLast() }
        return Array(text.utf8)
    }

    /// The message for attempt number `attempt`, signed at `now` (each attempt is signed afresh, so
    /// a retry hours later still passes the receiver's timestamp tolerance).
    public init(event: SandboxEvent, storeId: String, secret: [UInt8], attempt: Int, now: Date) {
        body = Self.body(for: event, storeId: storeId)
        let timestamp = Int64(now.timeIntervalSince1970.rounded(.down))
        headers = [
            ("Content-Type", "application/json"),
            ("Sandboxer-Event-Id", Self.eventId(storeId: storeId, seq: event.seq)),
            ("Sandboxer-Event-Type", event.type),
            ("Sandboxer-Timestamp", String(timestamp)),
            ("Sandboxer-Signature", WebhookSignature.sign(secret: secret, timestamp: timestamp, body: body)),
            ("Sandboxer-Delivery-Attempt", String(attempt)),
        ]
    }
}
