import FoundationEssentials
import Glibc
import Core
import Basics

/// Which snapshots `SandboxStore.snapshots` returns; every given criterion must hold.
public struct SnapshotFilter: Sendable {
    public var sandboxId: String?
    /// Allowed states; nil allows all.
    public var states: Set<SnapshotState>?
    /// Only snapshots whose source sandbox had this `sandboxer.owner`.
    public var owner: String?
    public var name: String?
    /// Only snapshots after this one in the listing's order (newest first: `created_at`, then `id`, descending).
    public var after: PageCursor?
    public var limit: Int?

    public init(sandboxId: String? = nil, states: Set<SnapshotState>? = nil, owner: String? = nil,
                name: String? = nil, after: PageCursor? = nil, limit: Int? = nil) {
        self.sandboxId = sandboxId; self.states = states; self.owner = owner; self.name = name
        self.after = after; self.limit = limit
    }
}

extension SandboxStore {
    /// The snapshot columns, in the order `snapshotValues` binds them (rows are read back by name).
    static let snapshotColumns = """
        id, sandbox_id, backend, profile, name, state, size_bytes, backend_ref, created_at, updated_at, trigger, \
        deleted_reason, owner, host_id, intent, message
        """

    /// Inserts a snapshot row (the intent, before the backend is called) and its events in one transaction.
    public func insert(_ snapshot: Snapshot, events: [SandboxEvent]) throws(StoreError) {
        let values = Self.snapshotValues(snapshot)
        let placeholders = Array(repeating: "?", count: values.count).joined(separator: ", ")
        try locked { () throws(StoreError) in
            try connection.transaction(doing: "Inserting snapshot \(snapshot.id)") { () throws(StoreError) in
                do throws(StoreError) {
                    try connection.run("INSERT INTO snapshots (\(Self.snapshotColumns)) VALUES (\(placeholders))",
                                       values, doing: "Inserting snapshot \(snapshot.id)")
                } catch where error.isDuplicate {
                    throw StoreError(code: .conflict, message: "Snapshot \(snapshot.id) was not inserted: a snapshot with this id already exists.")
                }
                try appendEvents(events)
            }
        }
    }

    /// Conditional update of a snapshot: writes only if the stored state is in `expecting`; appends
    /// `events` in the same transaction. False when the state did not match; `.notFound` without a row.
    public func update(_ snapshot: Snapshot, expecting: Set<SnapshotState>, events: [SandboxEvent]) throws(StoreError) -> Bool {
        try conditionalUpdate(table: "snapshots", what: "Snapshot", columns: Self.snapshotColumns,
                              values: Self.snapshotValues(snapshot), states: expecting.map(\.rawValue), events: events)
    }

    /// The snapshot with this id, or nil.
    public func snapshot(id: String) throws(StoreError) -> Snapshot? {
        try locked { () throws(StoreError) in
            try selectSnapshots("WHERE id = ?", [.text(id)], doing: "Reading snapshot \(id)").first
        }
    }

    /// Snapshots matching `filter`, newest first (created_at, then id, descending), from `filter.after`.
    public func snapshots(_ filter: SnapshotFilter) throws(StoreError) -> [Snapshot] {
        guard let (sql, values) = Self.snapshotQuery(filter).statement else { return [] }
        return try locked { () throws(StoreError) in
            try connection.rows(sql, values, doing: "Listing snapshots") { (row) throws(StoreError) -> Snapshot in
                try Self.decodeSnapshot(row, path: path)
            }
        }
    }

    /// One page of `filter` (its `limit` is replaced by `limit`) and the cursor of the next.
    public func page(_ filter: SnapshotFilter, limit: Int) throws(StoreError) -> Page<Snapshot> {
        var probe = filter
        probe.limit = limit + 1
        return Page(reading: try snapshots(probe), limit: limit, cursor: PageCursor.init(after:))
    }

    /// The statement `snapshots` runs: one arm, walking the sandbox's, the owner's or the creation-order
    /// index backwards. Snapshots are few per sandbox, so states and names are checked on the rows walked.
    /// The planner chooses (no `INDEXED BY`): the in-flight sweep's state filter has its own partial index.
    static func snapshotQuery(_ filter: SnapshotFilter) -> KeysetQuery {
        var query = KeysetQuery(table: "snapshots", columns: snapshotColumns, index: nil)
        if let sandboxId = filter.sandboxId { query.conditions.append(.init("sandbox_id = ?", [.text(sandboxId)])) }
        if let states = filter.states {
            if states.isEmpty { query.arms = [] }   // allows none
            let names = states.map(\.rawValue).sorted()   // equal sets give equal SQL: one cached statement
            query.conditions.append(.init("state IN (\(Array(repeating: "?", count: names.count).joined(separator: ", ")))",
                                          names.map(SQLValue.text)))
        }
        if let owner = filter.owner { query.conditions.append(.init("owner = ?", [.text(owner)])) }
        if let name = filter.name { query.conditions.append(.init("name = ?", [.text(name)])) }
        query.descending = true
        query.after = filter.after
        query.limit = filter.limit
        return query
    }

    private func selectSnapshots(_ clause: String, _ values: [SQLValue], doing: String) throws(StoreError) -> [Snapshot] {
        try connection.rows("SELECT \(Self.snapshotColumns) FROM snapshots \(clause)", values, doing: doing) {
            (row) throws(StoreError) -> Snapshot in try Self.decodeSnapshot(row, path: path)
        }
    }

    static func snapshotValues(_ s: Snapshot) -> [SQLValue] {
        [.text(s.id), .text(s.sandboxId), .text(s.backend), .text(s.profile), .text(s.name), .text(s.state.rawValue),
         .integer(s.sizeBytes), .text(s.backendRef), .integer(s.createdAt.millisecondsSince1970),
         .integer(s.updatedAt.millisecondsSince1970), .text(s.trigger.rawValue), .text(s.deletedReason?.rawValue),
         .text(s.owner), .text(s.hostId), .text(s.intent.storedJSON), .text(s.message)]
    }

    /// Reads a row selected with `snapshotColumns`, by column name.
    static func decodeSnapshot(_ row: SQLiteStatement, path: String) throws(StoreError) -> Snapshot {
        let id = try row.text("id")
        func corrupt(_ what: String) -> StoreError {
            StoreError(code: .corrupt, message: "Snapshot \(id) in the store at \(path) has \(what).")
        }
        guard let state = SnapshotState(rawValue: try row.text("state")) else { throw corrupt("an unknown state") }
        guard let trigger = SnapshotTrigger(rawValue: try row.text("trigger")) else { throw corrupt("an unknown trigger") }
        var deleted: SnapshotDeletion?
        if let raw = try row.optionalText("deleted_reason") {
            guard let known = SnapshotDeletion(rawValue: raw) else { throw corrupt("an unknown deletion reason") }
            deleted = known
        }
        return Snapshot(id: id, sandboxId: try row.text("sandbox_id"), backend: try row.text("backend"),
                        profile: try row.text("profile"), name: try row.optionalText("name"), state: state,
                        sizeBytes: try row.optionalInt64("size_bytes"), backendRef: try row.optionalText("backend_ref"),
                        createdAt: try row.date("created_at"), updatedAt: try row.date("updated_at"),
                        trigger: trigger, deletedReason: deleted, owner: try row.optionalText("owner"),
                        hostId: try row.text("host_id"), intent: SnapshotIntent(storedJSON: try row.text("intent")), message: try row.optionalText("message"))
    }
}
