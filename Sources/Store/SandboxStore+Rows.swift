import Foundation
import Core
import Basics

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
    /// The sandbox columns in the order `decodeSandbox` reads and `sandboxValues` binds them.
    static let sandboxColumns = """
        id, profile, backend, state, ttl_seconds, max_ttl_seconds, idle_reap_seconds, created_at, ready_at, \
        updated_at, expires_at, labels, backend_ref, reason, idempotency_key, request, host_id, idle_at, \
        expiry_warning_seconds, warned_expires_at, last_activity, source_snapshot, warn_at, backend_info
        """

    /// Bound values for `sandboxColumns`, including the derived `idle_at`.
    static func sandboxValues(_ sandbox: Sandbox) throws(StoreError) -> [SQLValue] {
        let updatedAt = sandbox.updatedAt.millisecondsSince1970
        return [
            .text(sandbox.id), .text(sandbox.profile), .text(sandbox.backend), .text(sandbox.state.rawValue),
            .integer(sandbox.ttlSeconds), .integer(sandbox.maxTTLSeconds), .integer(sandbox.idleReapSeconds),
            .integer(sandbox.createdAt.millisecondsSince1970), .integer(sandbox.readyAt?.millisecondsSince1970),
            .integer(updatedAt), .integer(sandbox.expiresAt?.millisecondsSince1970),
            .text(try encodeLabels(sandbox.labels, id: sandbox.id)), .text(sandbox.backendRef),
            .text(sandbox.reason?.rawValue), .text(sandbox.idempotencyKey), .text(sandbox.request.storedJSON),
            .text(sandbox.hostId), .integer(idleAt(updatedAt: updatedAt, idleReapSeconds: sandbox.idleReapSeconds)),
            .integer(sandbox.expiryWarningSeconds), .integer(sandbox.warnedExpiresAt?.millisecondsSince1970),
            .text(sandbox.lastActivity), .text(sandbox.sourceSnapshot),
            .integer(sandbox.warningDeadline?.millisecondsSince1970), .text(BackendInfo.text(sandbox.backendInfo)),
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

    /// Reads a row selected with `sandboxColumns`.
    static func decodeSandbox(_ row: SQLiteStatement, path: String) throws(StoreError) -> Sandbox {
        let id = row.text(0)
        func corrupt(_ what: String) -> StoreError {
            StoreError(code: .corrupt, message: "Sandbox \(id) in the store at \(path) has \(what).")
        }
        guard let state = SandboxState(rawValue: row.text(3)) else { throw corrupt("an unknown state") }
        var reason: TerminationReason?
        if let raw = row.optionalText(13) {
            guard let known = TerminationReason(rawValue: raw) else { throw corrupt("an unknown termination reason") }
            reason = known
        }
        let labelText = row.text(11)
        var labels: [String: String] = [:]
        if labelText != "{}" {   // the common case skips a JSONDecoder per row (sweeps read thousands)
            guard let decoded = try? JSONDecoder().decode([String: String].self, from: Data(labelText.utf8))
            else { throw corrupt("labels that are not a JSON object of strings") }
            labels = decoded
        }
        return Sandbox(
            id: id, profile: row.text(1), backend: row.text(2), state: state,
            ttlSeconds: row.int64(4), maxTTLSeconds: row.int64(5), idleReapSeconds: row.optionalInt64(6),
            createdAt: Date(millisecondsSince1970: row.int64(7)),
            readyAt: row.optionalInt64(8).map(Date.init(millisecondsSince1970:)),
            updatedAt: Date(millisecondsSince1970: row.int64(9)),
            expiresAt: row.optionalInt64(10).map(Date.init(millisecondsSince1970:)),
            labels: labels, backendRef: row.optionalText(12), reason: reason,
            idempotencyKey: row.optionalText(14), request: CreateIntent(storedJSON: row.text(15)), hostId: row.text(16),
            expiryWarningSeconds: row.optionalInt64(18),
            warnedExpiresAt: row.optionalInt64(19).map(Date.init(millisecondsSince1970:)),
            lastActivity: row.optionalText(20), sourceSnapshot: row.optionalText(21),
            backendInfo: BackendInfo.parse(row.optionalText(23)))
    }

    /// Labels as canonical JSON text (sorted keys), so equal label sets store equal text.
    static func encodeLabels(_ labels: [String: String], id: String) throws(StoreError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(labels) else {
            throw StoreError(code: .other, message: "The labels of sandbox \(id) could not be encoded as JSON.")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads an event selected as `seq, sandbox_id, type, at, data` starting at column `first`.
    static func decodeEvent(_ row: SQLiteStatement, from first: Int32 = 0) -> SandboxEvent {
        let type = row.text(first + 2)
        return SandboxEvent(seq: row.int64(first), sandboxId: row.text(first + 1), storedType: type,
                            at: Date(millisecondsSince1970: row.int64(first + 3)),
                            data: EventData(storedJSON: row.text(first + 4), type: type))
    }
}
