import FoundationEssentials
import Glibc
import Core
import Basics

/// Webhook delivery state: a cursor per sink over the events outbox, and a delivery row per
/// (sink, event) that attempts lease by pushing `next_attempt_at` forward.
///
/// Every step is one IMMEDIATE transaction, so several processes sharing the store file cooperate:
/// a claimed delivery is invisible to other claimers until its lease runs out, and a process that
/// dies mid-attempt leaves a lease that simply expires, after which any process retries it.
extension SandboxStore {
    /// Columns of a delivery joined with its event, read back by name (each name occurs once).
    static let deliveryColumns = """
        d.sink, d.state, d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.updated_at, \
        e.seq, e.sandbox_id, e.type, e.at, e.data
        """

    /// Creates the sink's cursor at the current end of the outbox unless it has one; returns the cursor.
    ///
    /// A sink seen for the first time is not sent the history before it existed: it starts with the
    /// next event. `serve` registers every sink before it accepts requests, so no event of its own is skipped.
    @discardableResult
    public func registerWebhookSink(_ sink: String) throws(StoreError) -> Int64 {
        try locked { () throws(StoreError) in
            try connection.transaction(doing: "Registering webhook sink \(sink)") { () throws(StoreError) -> Int64 in
                try cursor(of: sink)
            }
        }
    }

    /// The sink's cursor (the last event seq it has considered), or nil for an unknown sink.
    public func webhookCursor(_ sink: String) throws(StoreError) -> Int64? {
        try locked { () throws(StoreError) in
            try connection.rows("SELECT last_seq FROM webhook_cursors WHERE sink = ?", [.text(sink)],
                                doing: "Reading the cursor of webhook sink \(sink)") { $0.int64(0) }.first
        }
    }

    /// In one transaction: reads up to `limit` events after the sink's cursor, inserts a pending
    /// delivery (due at `now`) for each that `accepts` its type, and moves the cursor past all of them.
    /// Returns how many events it read and how many it enqueued; fewer read than `limit` means caught up.
    @discardableResult
    public func enqueueWebhookDeliveries(sink: String, now: Date, limit: Int = 500,
                                         accepts: (String) -> Bool) throws(StoreError) -> (scanned: Int, enqueued: Int) {
        let doing = "Enqueueing webhook deliveries for sink \(sink)"
        let nowMs = now.millisecondsSince1970
        return try locked { () throws(StoreError) in
            try connection.transaction(doing: doing) { () throws(StoreError) -> (scanned: Int, enqueued: Int) in
                let start = try cursor(of: sink)
                let events = try connection.rows("SELECT seq, type FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                                                 [.integer(start), .integer(Int64(max(1, limit)))], doing: doing) {
                    (row) throws(StoreError) in (seq: try row.int64("seq"), type: try row.text("type"))
                }
                guard let last = events.last else { return (0, 0) }
                var enqueued = 0
                for event in events where accepts(event.type) {
                    // OR IGNORE: a row can only exist already if a cursor was rewound by hand.
                    enqueued += try connection.run("""
                        INSERT OR IGNORE INTO webhook_deliveries (sink, event_seq, state, attempts, next_attempt_at, updated_at)
                        VALUES (?, ?, 'pending', 0, ?, ?)
                        """, [.text(sink), .integer(event.seq), .integer(nowMs), .integer(nowMs)], doing: doing)
                }
                try connection.run("UPDATE webhook_cursors SET last_seq = ? WHERE sink = ?",
                                   [.integer(last.seq), .text(sink)], doing: doing)
                return (events.count, enqueued)
            }
        }
    }

    /// In one transaction: takes up to `limit` of the sink's pending deliveries due at `now` (oldest
    /// due first), counts an attempt on each and leases it until `now + lease`. Returns them as leased.
    ///
    /// The lease must outlast the attempt (its timeout plus a margin): until it runs out no other
    /// claim sees the row; if the claimer dies, the row comes due again when it does.
    public func claimWebhookDeliveries(sink: String, now: Date, lease: TimeInterval, limit: Int) throws(StoreError) -> [WebhookDelivery] {
        let doing = "Claiming webhook deliveries for sink \(sink)"
        let nowMs = now.millisecondsSince1970
        let until = now.addingTimeInterval(lease).millisecondsSince1970
        return try locked { () throws(StoreError) in
            try connection.transaction(doing: doing) { () throws(StoreError) -> [WebhookDelivery] in
                // `d.state = 'pending'` is written literally so SQLite can use the partial index.
                let due = try connection.rows("""
                    SELECT \(Self.deliveryColumns) FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq
                    WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND d.sink = ?
                    ORDER BY d.next_attempt_at, d.event_seq LIMIT ?
                    """, [.integer(nowMs), .text(sink), .integer(Int64(max(0, limit)))], doing: doing) {
                    (row) throws(StoreError) -> WebhookDelivery in try Self.decodeDelivery(row, path: path)
                }
                var claimed: [WebhookDelivery] = []
                for var delivery in due {
                    try connection.run("""
                        UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = ?, updated_at = ?
                        WHERE sink = ? AND event_seq = ? AND state = 'pending'
                        """, [.integer(until), .integer(nowMs), .text(sink), .integer(delivery.event.seq)], doing: doing)
                    delivery.attempts += 1
                    delivery.nextAttemptAt = Date(millisecondsSince1970: until)
                    delivery.updatedAt = Date(millisecondsSince1970: nowMs)
                    claimed.append(delivery)
                }
                return claimed
            }
        }
    }

    /// Records a 2xx answer. A success is the truth whatever happened meanwhile, so it is recorded
    /// even if the lease ran out; returns false only when the row was already delivered (or is unknown).
    @discardableResult
    public func markWebhookDelivered(sink: String, seq: Int64, status: Int, now: Date) throws(StoreError) -> Bool {
        let nowMs = now.millisecondsSince1970
        return try locked { () throws(StoreError) in
            try connection.run("""
                UPDATE webhook_deliveries SET state = 'delivered', last_status = ?, last_error = NULL, updated_at = ?
                WHERE sink = ? AND event_seq = ? AND state <> 'delivered'
                """, [.integer(Int64(status)), .integer(nowMs), .text(sink), .integer(seq)],
                doing: "Marking event \(seq) delivered to webhook sink \(sink)") == 1
        }
    }

    /// Records a failed attempt number `attempt`: the delivery comes due again at `retryAt`, or is
    /// dead once `attempt >= maxAttempts`. Fenced on the attempt count, so a stale attempt (whose
    /// lease ran out and was claimed again) changes nothing. Returns the new state, nil when fenced out.
    @discardableResult
    public func markWebhookFailed(sink: String, seq: Int64, attempt: Int, status: Int?, error: String,
                                  retryAt: Date, maxAttempts: Int, now: Date) throws(StoreError) -> WebhookDelivery.State? {
        let state: WebhookDelivery.State = attempt >= maxAttempts ? .dead : .pending
        let changed = try locked { () throws(StoreError) in
            try connection.run("""
                UPDATE webhook_deliveries SET state = ?, next_attempt_at = ?, last_status = ?, last_error = ?, updated_at = ?
                WHERE sink = ? AND event_seq = ? AND state = 'pending' AND attempts = ?
                """, [.text(state.rawValue), .integer(retryAt.millisecondsSince1970), .integer(status.map(Int64.init)),
                      .text(error), .integer(now.millisecondsSince1970), .text(sink), .integer(seq), .integer(Int64(attempt))],
                doing: "Recording a failed delivery of event \(seq) to webhook sink \(sink)")
        }
        return changed == 1 ? state : nil
    }

    /// Deliveries in `state` (optionally of one sink), oldest change first. Dead letters use their
    /// partial index; listing delivered rows scans the table (for tests and diagnosis only).
    public func webhookDeliveries(state: WebhookDelivery.State, sink: String? = nil, limit: Int? = nil) throws(StoreError) -> [WebhookDelivery] {
        var values: [SQLValue] = []
        var sinkClause = ""
        if let sink { sinkClause = " AND d.sink = ?"; values.append(.text(sink)) }
        values.append(Self.limitValue(limit))
        // The state is one of three literals from the enum, never caller text.
        let sql = """
            SELECT \(Self.deliveryColumns) FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq
            WHERE d.state = '\(state.rawValue)'\(sinkClause) ORDER BY d.updated_at, d.sink, d.event_seq LIMIT ?
            """
        return try locked { () throws(StoreError) in
            try connection.rows(sql, values, doing: "Listing \(state.rawValue) webhook deliveries") {
                (row) throws(StoreError) -> WebhookDelivery in try Self.decodeDelivery(row, path: path)
            }
        }
    }

    /// Puts dead deliveries (of one sink, or all) back to pending, due at `now` with a fresh attempt
    /// budget; the last status and error stay for reference. Returns how many.
    @discardableResult
    public func requeueDeadWebhookDeliveries(sink: String? = nil, now: Date) throws(StoreError) -> Int {
        let nowMs = now.millisecondsSince1970
        var sql = "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ? WHERE state = 'dead'"
        var values: [SQLValue] = [.integer(nowMs), .integer(nowMs)]
        if let sink { sql += " AND sink = ?"; values.append(.text(sink)) }
        return try locked { () throws(StoreError) in
            try connection.run(sql, values, doing: "Requeueing dead webhook deliveries")
        }
    }

    /// How many deliveries each (sink, state) pair has: the gauge `/metrics` can report.
    public func webhookDeliveryCounts() throws(StoreError) -> [(sink: String, state: WebhookDelivery.State, count: Int)] {
        try locked { () throws(StoreError) in
            try connection.rows("""
                SELECT sink, state, COUNT(*) AS count FROM webhook_deliveries GROUP BY sink, state ORDER BY sink, state
                """, [], doing: "Counting webhook deliveries") { (row) throws(StoreError) in
                (try row.text("sink"), WebhookDelivery.State(rawValue: try row.text("state")) ?? .dead, Int(try row.int64("count")))
            }
        }
    }

    // MARK: - Internals (called with the lock held, inside a transaction)

    /// The sink's cursor, created at the end of the outbox when missing.
    private func cursor(of sink: String) throws(StoreError) -> Int64 {
        let doing = "Reading the cursor of webhook sink \(sink)"
        if let existing = try connection.rows("SELECT last_seq FROM webhook_cursors WHERE sink = ?", [.text(sink)],
                                              doing: doing, { $0.int64(0) }).first {
            return existing
        }
        let end = try connection.rows("SELECT coalesce(max(seq), 0) FROM events", [], doing: doing) { $0.int64(0) }.first ?? 0
        try connection.run("INSERT INTO webhook_cursors (sink, last_seq) VALUES (?, ?)", [.text(sink), .integer(end)], doing: doing)
        return end
    }

    static func decodeDelivery(_ row: SQLiteStatement, path: String) throws(StoreError) -> WebhookDelivery {
        let event = try decodeEvent(row)
        guard let state = WebhookDelivery.State(rawValue: try row.text("state")) else {
            throw StoreError(code: .corrupt, message: "A webhook delivery of event \(event.seq) in the store at \(path) has an unknown state.")
        }
        return WebhookDelivery(sink: try row.text("sink"), event: event, state: state, attempts: Int(try row.int64("attempts")),
                               nextAttemptAt: try row.date("next_attempt_at"),
                               lastStatus: try row.optionalInt64("last_status").map { Int($0) },
                               lastError: try row.optionalText("last_error"), updatedAt: try row.date("updated_at"))
    }
}
