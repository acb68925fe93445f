import FoundationEssentials
import Glibc
import Basics
import PluginProtocol

/// One event's delivery to one sink, as the store keeps it (`webhook_deliveries` joined with `events`).
public struct WebhookDelivery: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        /// Waiting for its next attempt (or leased by an attempt in flight until `nextAttemptAt`).
        case pending
        /// A 2xx answered it.
        case delivered
        /// It failed `max_attempts` times; only an operator's retry sends it again.
        case dead
    }

    public var sink: String
    public var event: SandboxEvent
    public var state: State
    /// Attempts started so far (a claim counts one before the request is sent).
    public var attempts: Int
    /// When it may next be claimed; for a claimed delivery, when its lease runs out.
    public var nextAttemptAt: Date
    /// The HTTP status of the last attempt that got an answer.
    public var lastStatus: Int?
    /// Why the last attempt failed: a status or a transport error, as a sentence.
    public var lastError: String?
    public var updatedAt: Date

    public init(sink: String, event: SandboxEvent, state: State, attempts: Int, nextAttemptAt: Date,
                lastStatus: Int? = nil, lastError: String? = nil, updatedAt: Date) {
        self.sink = sink; self.event = event; self.state = state; self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt; self.lastStatus = lastStatus; self.lastError = lastError
        self.updatedAt = updatedAt
    }

    /// The delivery as the CLI's `--json` and `GET /v1/events/failed` print it.
    public func jsonValue(storeId: String) -> JSONValue {
        .object([
            "sink": .string(sink), "event_id": .string(event.externalId(storeId: storeId)),
            "seq": .number(Double(event.seq)), "type": .string(event.type), "sandbox_id": .string(event.sandboxId),
            "event_at": .string(RFC3339.format(event.at)), "state": .string(state.rawValue),
            "attempts": .number(Double(attempts)), "last_status": lastStatus.map { .number(Double($0)) } ?? .null,
            "last_error": lastError.map { .string($0) } ?? .null, "updated_at": .string(RFC3339.format(updatedAt)),
        ])
    }
}
