import FoundationEssentials
import Glibc
import Core
import Basics

/// Which sandboxes `SandboxStore.list` returns; every given criterion must hold.
public struct SandboxFilter: Sendable {
    /// Allowed states; nil allows all (an empty set allows none).
    public var states: Set<SandboxState>?
    public var backend: String?
    public var profile: String?
    /// Only this consumer's sandboxes (their `sandboxer.owner` label).
    public var owner: String?
    /// Every pair must be present with exactly this value.
    public var labels: [String: String]
    /// Only sandboxes after this one in the listing's order (`created_at`, then `id`).
    public var after: PageCursor?
    /// At most this many rows; nil means no limit.
    public var limit: Int?

    public init(states: Set<SandboxState>? = nil, backend: String? = nil, profile: String? = nil, owner: String? = nil,
                labels: [String: String] = [:], after: PageCursor? = nil, limit: Int? = nil) {
        self.states = states; self.backend = backend; self.profile = profile; self.owner = owner
        self.labels = labels; self.after = after; self.limit = limit
    }
}

/// The embedded SQLite store of sandboxes and their events (the outbox).
///
/// One connection per instance. Several processes may open the same file: they contend through
/// SQLite's locks (`BEGIN IMMEDIATE` for writes, a busy timeout), and WAL lets readers run meanwhile.
// @unchecked Sendable: the only mutable state is the connection, and every use of it holds `lock`.
public final class SandboxStore: @unchecked Sendable {
    /// How long a write waits for another process's lock before failing with `.busy`.
    static let busyTimeoutMilliseconds: Int32 = 5000

    /// The database file.
    public let path: String
    /// The schema version after opening (the migrations this code knows, all applied).
    public let schemaVersion: Int

    private let lock = Lock()
    /// Internal (not private) so `SandboxStore+…` files can run their own queries; always under `locked`.
    let connection: SQLiteConnection
    /// The checkpoint started by `checkpointAside` (SandboxStore+Checkpoint); the store's end waits for it.
    let checkpointer: LogCheckpointer


    /// Opens or creates the store file (its directory must exist), sets WAL and runs pending migrations.
    public convenience init(path: String) throws(StoreError) {
        try self.init(path: path, busyTimeoutMilliseconds: Self.busyTimeoutMilliseconds)
    }

    /// Tests shorten the busy timeout to see `.busy` without waiting five seconds.
    init(path: String, busyTimeoutMilliseconds: Int32) throws(StoreError) {
        self.path = path
        checkpointer = LogCheckpointer(path: path)
        connection = try SQLiteConnection(path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        // Reading the first page surfaces "not a database" here, as a clear error, rather than later.
        let mode = try connection.rows("PRAGMA journal_mode = WAL", [], doing: "Switching to WAL mode") {
            $0.text(0).lowercased()
        }
        guard mode.first == "wal" || mode.first == "memory" else {
            throw StoreError(code: .open, message: "The store at \(path) could not be switched to WAL journal mode.")
        }
        // The log is checkpointed aside, while a command waits on its backend, once it holds
        // `asideCheckpointFrames` (SandboxStore+Checkpoint); a commit that brings it to
        // `backstopCheckpointFrames` still checkpoints inline (SQLite's wal_autocheckpoint). With the
        // log kept on close, the next process's open reads the whole log back (recovery: one pread per
        // frame), so it stays short: a log of up to 1,000 frames cost every command ~3 ms on open
        // (docs/performance.md "The store's log"); inline checkpoints at 100 frames landed in one
        // create of five (+2.7 ms: three syncs).
        try connection.execute("""
            PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = \(Self.backstopCheckpointFrames);
            """, doing: "Configuring the connection")
        // A CLI command is usually the last connection to close: keep the WAL instead of checkpointing it
        // (and fsyncing twice) on every exit; see csqlite_keep_wal_on_close.
        connection.keepWALOnClose()
        schemaVersion = try Self.migrate(connection)
        storeId = try connection.rows("SELECT value FROM store_meta WHERE key = 'store_id'", [],
                                      doing: "Reading the store id") { $0.text(0) }.first ?? ""
        journalMode = mode.first ?? ""
    }

    // A checkpoint still running finishes before the connection closes (and syncs the log): a
    // command's end is where it was waiting for its backend's answer, so this rarely waits at all.
    deinit { checkpointer.wait() }

    /// `PRAGMA journal_mode` as opening set it: the stamp looks for the WAL index only in "wal".
    let journalMode: String

    /// Random id of this store file (made by its first migration), the prefix of its event ids.
    public let storeId: String

    /// Inserts a new sandbox and its first event in one transaction; `.conflict` if the id (or the idempotency key) exists.
    public func insert(_ sandbox: Sandbox, event: SandboxEvent) throws(StoreError) {
        try locked { () throws(StoreError) in
            try connection.transaction(doing: "Inserting sandbox \(sandbox.id)") { () throws(StoreError) in
                let values = Self.sandboxValues(sandbox)
                let placeholders = Array(repeating: "?", count: values.count).joined(separator: ", ")
                do throws(StoreError) {
                    try connection.run("INSERT INTO sandboxes (\(Self.sandboxColumns)) VALUES (\(placeholders))",
                                       values, doing: "Inserting sandbox \(sandbox.id)")
                } catch where error.isDuplicate {
                    let which = error.message.contains("idempotency_key") ? "the same idempotency key" : "this id"
                    throw StoreError(code: .conflict,
                                     message: "Sandbox \(sandbox.id) was not inserted: a sandbox with \(which) already exists.")
                }
                try checkPinnedImageExists(sandbox)
                try writeLabels(of: sandbox, replacing: false)
                try appendEvents([event])
            }
        }
    }

    /// The sandbox with this id, or nil.
    public func get(id: String) throws(StoreError) -> Sandbox? {
        try locked { () throws(StoreError) in
            try selectSandboxes("WHERE id = ?", [.text(id)], doing: "Reading sandbox \(id)").first
        }
    }

    /// The sandbox created with this idempotency key, or nil.
    public func get(idempotencyKey: String) throws(StoreError) -> Sandbox? {
        try locked { () throws(StoreError) in
            try selectSandboxes("WHERE idempotency_key = ?", [.text(idempotencyKey)],
                                doing: "Reading a sandbox by idempotency key").first
        }
    }

    /// Sorted by created_at then id, read in index order from `filter.after` (see `listQuery`).
    public func list(_ filter: SandboxFilter) throws(StoreError) -> [Sandbox] {
        guard let (sql, values) = Self.listQuery(filter).statement else { return [] }
        return try locked { () throws(StoreError) in
            try connection.rows(sql, values, doing: "Listing sandboxes") { (row) throws(StoreError) -> Sandbox in
                try Self.decodeSandbox(row, path: path)
            }
        }
    }

    /// One page of `filter` (its `limit` is replaced by `limit`) and the cursor of the next.
    public func page(_ filter: SandboxFilter, limit: Int) throws(StoreError) -> Page<Sandbox> {
        var probe = filter
        probe.limit = limit + 1
        return Page(reading: try list(probe), limit: limit, cursor: PageCursor.init(after:))
    }

    /// Conditional update: writes `sandbox` (matched by id) only if the stored row's state is in `expecting`;
    /// appends `events` in the same transaction. Returns false (and writes nothing) when the state did not match.
    /// Throws `.notFound` when no sandbox has this id.
    ///
    /// With `previous` (the row as the caller read it, the same id), only the columns whose values
    /// differ from it are written, and the labels only when they changed: a column left out keeps
    /// what the store holds, and its indexes' pages are not rewritten (a create's ready commit wrote
    /// every index of the table before, ~12 log frames; fewer frames mean fewer checkpoints).
    public func update(_ sandbox: Sandbox, expecting: Set<SandboxState>, events: [SandboxEvent],
                       from previous: Sandbox? = nil) throws(StoreError) -> Bool {
        try update(sandbox, expecting: expecting, events: events, andWhere: nil, from: previous)
    }

    /// `update` with one more condition on the stored row (`andWhere`: an SQL clause with one `?`).
    func update(_ sandbox: Sandbox, expecting: Set<SandboxState>, events: [SandboxEvent],
                andWhere: (clause: String, value: SQLValue)?, from previous: Sandbox? = nil) throws(StoreError) -> Bool {
        let values = Self.sandboxValues(sandbox)
        let base = previous.flatMap { $0.id == sandbox.id ? Self.sandboxValues($0) : nil }
        let labelsChanged = previous.map { $0.id != sandbox.id || $0.labels != sandbox.labels } ?? true
        return try conditionalUpdate(table: "sandboxes", what: "Sandbox", columns: Self.sandboxColumns, values: values,
                                     unchangedFrom: base, states: expecting.map(\.rawValue), events: events,
                                     andWhere: andWhere) { () throws(StoreError) in
            if labelsChanged { try writeLabels(of: sandbox, replacing: true) }
        }
    }

    /// `UPDATE table SET <every column but the first, the id> WHERE id = ? AND state IN (states)`, then
    /// `also` and the events, in one transaction. False (nothing written) when the state did not match;
    /// `.notFound` when no row has the id. `values` are bound in `columns` order, the id first.
    /// With `unchangedFrom` (values of the same columns as the caller read them), only the columns
    /// whose value differs are set (`state` alone when none does, so the statement stays valid).
    func conditionalUpdate(table: String, what: String, columns: String, values: [SQLValue],
                           unchangedFrom base: [SQLValue]? = nil, states: [String],
                           events: [SandboxEvent], andWhere: (clause: String, value: SQLValue)? = nil,
                           also: () throws(StoreError) -> Void = {}) throws(StoreError) -> Bool {
        guard case .text(let id)? = values.first else {
            throw StoreError(code: .other, message: "\(what) update without an id (a bug in the store).")
        }
        let doing = "Updating \(what.lowercased()) \(id)"
        let sorted = states.sorted()   // equal sets give equal SQL: one cached statement
        let (names, setValues) = Self.assignedColumns(columns, values: values, unchangedFrom: base)
        let assignments = names.map { "\($0) = ?" }.joined(separator: ", ")
        let sql = """
            UPDATE \(table) SET \(assignments) WHERE id = ? \
            AND state IN (\(Array(repeating: "?", count: sorted.count).joined(separator: ", ")))\
            \(andWhere.map { " AND " + $0.clause } ?? "")
            """
        return try locked { () throws(StoreError) in
            try connection.transaction(doing: doing) { () throws(StoreError) -> Bool in
                let changed = try connection.run(sql, setValues + [.text(id)] + sorted.map(SQLValue.text)
                                                 + (andWhere.map { [$0.value] } ?? []), doing: doing)
                guard changed == 1 else {
                    let exists = try connection.rows("SELECT 1 FROM \(table) WHERE id = ?", [.text(id)], doing: doing) { _ in true }
                    guard !exists.isEmpty else {
                        throw StoreError(code: .notFound, message: "\(what) \(id) is not in the store at \(path).")
                    }
                    return false
                }
                try also()
                try appendEvents(events)
                return true
            }
        }
    }

    /// The columns an update sets (every one but the id, or those whose value differs from `base`)
    /// and their values, in `columns` order.
    static func assignedColumns(_ columns: String, values: [SQLValue], unchangedFrom base: [SQLValue]?) -> (names: [String], values: [SQLValue]) {
        let names = columns.split(separator: ",").dropFirst().map { $0.trimmed() }
        let rest = Array(values.dropFirst())
        guard let base, base.count == values.count, names.count == rest.count else { return (names, rest) }
        let old = Array(base.dropFirst())
        var picked = names.indices.filter { rest[$0] != old[$0] }
        if picked.isEmpty, let state = names.firstIndex(of: "state") { picked = [state] }
        if picked.isEmpty { return (names, rest) }
        return (picked.map { names[$0] }, picked.map { rest[$0] })
    }

    /// Live sandboxes (ready/active) whose expires_at <= now, or whose idle deadline (updated_at + idle_reap) <= now.
    /// Ordered by the earlier of the two.
    public func due(at now: Date, limit: Int?) throws(StoreError) -> [Sandbox] {
        try locked { () throws(StoreError) in
            try selectSandboxes(Self.dueClause, [.integer(now.millisecondsSince1970), Self.limitValue(limit)],
                                doing: "Finding sandboxes due for expiry")
        }
    }

    /// Each arm repeats the partial indexes' `state IN ('ready', 'active')` literally: SQLite uses a
    /// partial index only when the query's WHERE clause visibly implies the index's. `INDEXED BY` pins
    /// the plan: without ANALYZE statistics the planner prefers the `state` index, which scans every
    /// live row; and if the partial index ever stops applying, the statement fails instead of crawling.
    static let dueClause = """
        WHERE rowid IN (
            SELECT rowid FROM sandboxes INDEXED BY sandboxes_live_expires_at
                WHERE state IN ('ready', 'active') AND expires_at <= ?1
            UNION ALL
            SELECT rowid FROM sandboxes INDEXED BY sandboxes_live_idle_at
                WHERE state IN ('ready', 'active') AND idle_at <= ?1
        )
        ORDER BY min(coalesce(expires_at, idle_at), coalesce(idle_at, expires_at)), id
        LIMIT ?2
        """

    /// Sandboxes in state provisioning, expired or destroying (interrupted work to reconcile).
    public func inFlight() throws(StoreError) -> [Sandbox] {
        try locked { () throws(StoreError) in
            try selectSandboxes("WHERE state IN ('provisioning', 'expired', 'destroying') ORDER BY created_at, id", [],
                                doing: "Listing in-flight sandboxes")
        }
    }

    /// Events ordered by seq; `sandboxId` filters, `since` is exclusive (seq > since).
    public func events(sandboxId: String?, since: Int64?, limit: Int?) throws(StoreError) -> [SandboxEvent] {
        var sql = "SELECT \(Self.eventColumns) FROM events WHERE seq > ?"
        var values: [SQLValue] = [.integer(since ?? 0)]
        if let sandboxId { sql += " AND sandbox_id = ?"; values.append(.text(sandboxId)) }
        sql += " ORDER BY seq LIMIT ?"
        values.append(Self.limitValue(limit))
        return try locked { () throws(StoreError) in
            try connection.rows(sql, values, doing: "Reading events") { (row) throws(StoreError) in try Self.decodeEvent(row) }
        }
    }

    /// How many sandboxes each (state, backend) pair has: the gauge `/metrics` reports.
    public func countsByStateAndBackend() throws(StoreError) -> [(state: SandboxState, backend: String, count: Int)] {
        try locked { () throws(StoreError) in
            try connection.rows("""
                SELECT state, backend, COUNT(*) AS count FROM sandboxes GROUP BY state, backend ORDER BY state, backend
                """, [], doing: "Counting sandboxes") { (row) throws(StoreError) in
                (SandboxState(rawValue: try row.text("state")) ?? .failed, try row.text("backend"), Int(try row.int64("count")))
            }
        }
    }

    /// Appends events with no state change (e.g. orphan_reaped for a resource with no row).
    public func append(events: [SandboxEvent]) throws(StoreError) {
        guard !events.isEmpty else { return }
        try locked { () throws(StoreError) in
            try connection.transaction(doing: "Appending events") { () throws(StoreError) in try appendEvents(events) }
        }
    }

    /// The `EXPLAIN QUERY PLAN` details of selecting sandboxes with `clause` (bound to `now` 0 and no
    /// limit), so tests can prove a sweep query stays indexed.
    func queryPlan(_ clause: String) throws(StoreError) -> [String] {
        try locked { () throws(StoreError) in
            try connection.rows("EXPLAIN QUERY PLAN SELECT \(Self.sandboxColumns) FROM sandboxes \(clause)",
                                [.integer(0), .integer(-1)], doing: "Explaining a sweep query") { $0.text(3) }
        }
    }

    // MARK: - Internals (called with the lock held)

    /// Runs `body` holding the connection's lock (internal for the store's extensions in other files).
    func locked<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// Runs `body` holding the lock only if it is free right now; nil (nothing run) when another thread
    /// holds it. For callers that must not wait (the HTTP server's event-loop thread).
    func lockedIfFree<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T? {
        guard lock.tryLock() else { return nil }
        defer { lock.unlock() }
        return try body()
    }

    func selectSandboxes(_ clause: String, _ values: [SQLValue], doing: String) throws(StoreError) -> [Sandbox] {
        try connection.rows("SELECT \(Self.sandboxColumns) FROM sandboxes \(clause)", values, doing: doing) {
            (row) throws(StoreError) -> Sandbox in try Self.decodeSandbox(row, path: path)
        }
    }

    func writeLabels(of sandbox: Sandbox, replacing: Bool) throws(StoreError) {
        let doing = "Writing the labels of sandbox \(sandbox.id)"
        if replacing {
            try connection.run("DELETE FROM sandbox_labels WHERE sandbox_id = ?", [.text(sandbox.id)], doing: doing)
        }
        for (key, value) in sandbox.labels {
            try connection.run("INSERT INTO sandbox_labels (sandbox_id, key, value) VALUES (?, ?, ?)",
                               [.text(sandbox.id), .text(key), .text(value)], doing: doing)
        }
    }

    func appendEvents(_ events: [SandboxEvent]) throws(StoreError) {
        for event in events {
            // The owner is copied from the sandbox row (written first in the same transaction), so a
            // consumer's event page is an index range; events of rows that never existed have none.
            try connection.run("""
                INSERT INTO events (sandbox_id, type, at, data, owner)
                VALUES (?1, ?2, ?3, ?4, (SELECT owner FROM sandboxes WHERE id = ?1))
                """, [.text(event.sandboxId), .text(event.type), .integer(event.at.millisecondsSince1970), .text(event.data.jsonText)],
                doing: "Appending a \(event.type) event for sandbox \(event.sandboxId)")
        }
    }

    /// SQLite reads a negative LIMIT as "no limit".
    static func limitValue(_ limit: Int?) -> SQLValue { .integer(limit.map { Int64(max(0, $0)) } ?? -1) }
}
