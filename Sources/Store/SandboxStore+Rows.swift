import FoundationEssentials
import Glibc
import Core
import Basics
import PluginProtocol

extension Date {
    /// Whole milliseconds since the epoch, rounded to nearest (the store's time unit).
    /// Non-finite or out-of-range dates clamp instead of trapping.
    var millisecondsSince1970: Int64 {
        let milliseconds = (timeIntervalSince1970 * 1000).rounded()
        guard milliseconds.isFinite else { return milliseconds < 0 ? .min : .max }
        if milliseconds >= 9.2e18 { return .max }
        if milliseconds <= -9.2e18 { return .min }
        return Int64(milliseconds)
    }

    init(millisecondsSince1970 milliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}

extension SandboxStore {
    /// The sandbox columns, in the order `sandboxValues` binds them (rows are read back by name).
    static let sandboxColumns = """
        id, profile, backend, state, ttl_seconds, max_ttl_seconds, idle_reap_seconds, created_at, ready_at, \
        updated_at, expires_at, labels, backend_ref, reason, idempotency_key, request, host_id, idle_at, \
        expiry_warning_seconds, warned_expires_at, last_activity, source_snapshot, warn_at, owner, backend_info, \
        image_id
        """

    /// Bound values for `sandboxColumns`, including the derived `idle_at`, `warn_at` and `owner`.
    static func sandboxValues(_ sandbox: Sandbox) -> [SQLValue] {
        let updatedAt = sandbox.updatedAt.millisecondsSince1970
        return [
            .text(sandbox.id), .text(sandbox.profile), .text(sandbox.backend), .text(sandbox.state.rawValue),
            .integer(sandbox.ttlSeconds), .integer(sandbox.maxTTLSeconds), .integer(sandbox.idleReapSeconds),
            .integer(sandbox.createdAt.millisecondsSince1970), .integer(sandbox.readyAt?.millisecondsSince1970),
            .integer(updatedAt), .integer(sandbox.expiresAt?.millisecondsSince1970),
            .text(encodeLabels(sandbox.labels)), .text(sandbox.backendRef),
            .text(sandbox.reason?.rawValue), .text(sandbox.idempotencyKey), .text(sandbox.request.storedJSON),
            .text(sandbox.hostId), .integer(idleAt(updatedAt: updatedAt, idleReapSeconds: sandbox.idleReapSeconds)),
            .integer(sandbox.expiryWarningSeconds), .integer(sandbox.warnedExpiresAt?.millisecondsSince1970),
            .text(sandbox.lastActivity), .text(sandbox.sourceSnapshot),
            .integer(sandbox.warningDeadline?.millisecondsSince1970),
            // A column copy of the owner label, so a consumer's listings walk an index of its own rows.
            .text(sandbox.labels[SandboxLabels.owner]),
            .text(BackendInfo.text(sandbox.backendInfo)),
            // An ended sandbox pins nothing: the state change that ends it clears the pin with it.
            .text(sandbox.state.isTerminal ? nil : sandbox.imageId),
        ]
    }

    /// The idle deadline in milliseconds, saturating rather than overflowing.
    static func idleAt(updatedAt: Int64, idleReapSeconds: Int64?) -> Int64? {
        guard let seconds = idleReapSeconds else { return nil }
        let (milliseconds, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return seconds < 0 ? .min : .max }
        let (deadline, overflow2) = updatedAt.addingReportingOverflow(milliseconds)
        if overflow2 { return milliseconds < 0 ? .min : .max }
        return deadline
    }

    /// Reads a row selected with `sandboxColumns`, by column name.
    static func decodeSandbox(_ row: SQLiteStatement, path: String) throws(StoreError) -> Sandbox {
        let id = try row.text("id")
        func corrupt(_ what: String) -> StoreError {
            StoreError(code: .corrupt, message: "Sandbox \(id) in the store at \(path) has \(what).")
        }
        guard let state = SandboxState(rawValue: try row.text("state")) else { throw corrupt("an unknown state") }
        var reason: TerminationReason?
        if let raw = try row.optionalText("reason") {
            guard let known = TerminationReason(rawValue: raw) else { throw corrupt("an unknown termination reason") }
            reason = known
        }
        let labelText = try row.text("labels")
        var labels: [String: String] = [:]
        if labelText != "{}" {   // the common case skips a JSONDecoder per row (sweeps read thousands)
            guard let decoded = try? JSONDecoder().decode([String: String].self, from: Data(labelText.utf8))
            else { throw corrupt("labels that are not a JSON object of strings") }
            labels = decoded
        }
        return Sandbox(
            id: id, profile: try row.text("profile"), backend: try row.text("backend"), state: state,
            ttlSeconds: try row.int64("ttl_seconds"), maxTTLSeconds: try row.int64("max_ttl_seconds"),
            idleReapSeconds: try row.optionalInt64("idle_reap_seconds"),
            createdAt: try row.date("created_at"), readyAt: try row.optionalDate("ready_at"),
            updatedAt: try row.date("updated_at"), expiresAt: try row.optionalDate("expires_at"),
            labels: labels, backendRef: try row.optionalText("backend_ref"), reason: reason,
            idempotencyKey: try row.optionalText("idempotency_key"), request: CreateIntent(storedJSON: try row.text("request")),
            hostId: try row.text("host_id"), expiryWarningSeconds: try row.optionalInt64("expiry_warning_seconds"),
            warnedExpiresAt: try row.optionalDate("warned_expires_at"),
            lastActivity: try row.optionalText("last_activity"), sourceSnapshot: try row.optionalText("source_snapshot"),
            backendInfo: BackendInfo.parse(try row.optionalText("backend_info")),
            imageId: try row.optionalText("image_id"))
    }

    /// Labels as canonical JSON text (sorted keys), so equal label sets store equal text.
    static func encodeLabels(_ labels: [String: String]) -> String {
        // Written directly (keys sorted, as JSONEncoder with `.sortedKeys` wrote them): a one-shot
        // `sandboxer create` paid JSONEncoder's first use for this (0.7% of its samples).
        JSONValue.object(labels.mapValues(JSONValue.string)).storedText
    }

    /// The event columns `decodeEvent` reads.
    static let eventColumns = "seq, sandbox_id, type, at, data"

    /// Reads an event row (selected with `eventColumns`, or joined under the same names), by column name.
    /// Data rows an older version wrote (all-string values) are read as typed data.
    static func decodeEvent(_ row: SQLiteStatement) throws(StoreError) -> SandboxEvent {
        let type = try row.text("type")
        return SandboxEvent(seq: try row.int64("seq"), sandboxId: try row.text("sandbox_id"), storedType: type,
                            at: try row.date("at"), data: EventData(storedJSON: try row.text("data"), type: type))
    }
}
