/// Every event type the host writes: the one list the state machine, the lifecycle service, webhook
/// filters (`WebhookSink.eventTypes`) and docs/events.md (checked by a test) all take their names from.
public enum SandboxEventType: String, Sendable, CaseIterable, Codable {
    /// The create's intent is written, before the backend is called.
    case created
    /// The backend answered create; the TTL starts.
    case ready
    /// `extend-ttl` moved the deadline.
    case ttlExtended = "ttl_extended"
    /// The warning time of the current deadline was reached.
    case expiryWarning = "expiry_warning"
    /// The sweep found the sandbox due.
    case expired
    /// A destroy started.
    case destroying
    /// The backend confirmed the destroy.
    case destroyed
    /// A create or recreate failed, or the backend resource vanished.
    case failed
    case snapshotCreated = "snapshot_created"
    case snapshotDeleted = "snapshot_deleted"
    /// A recreate started.
    case recreating
    /// A recreate finished.
    case recreated
    /// The old instance could not be destroyed; nothing was replaced.
    case recreateFailed = "recreate_failed"
    /// `reap-stale --apply` destroyed a backend resource with our labels and no live sandbox.
    case orphanReaped = "orphan_reaped"

    /// The data fields this type writes as JSON booleans; every field not named here or in
    /// `integerFields` is a string. Rows written before data was typed hold `"true"`/`"false"` here.
    public var booleanFields: Set<String> {
        self == .ttlExtended ? ["capped"] : []
    }

    /// The data fields this type writes as JSON integers (rows written before hold digit strings).
    public var integerFields: Set<String> {
        self == .snapshotCreated ? ["size_bytes"] : []
    }
}
