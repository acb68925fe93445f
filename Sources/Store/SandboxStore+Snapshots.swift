import Foundation
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
    public var limit: Int?

    public init(sandboxId: String? = nil, states: Set<SnapshotState>? = nil, owner: String? = nil,
                name: String? = nil, limit: Int? = nil) {
        self.sandboxId = sandboxId; self.states = states; self.owner = owner; self.name = name; self.limit = limit
    }
}

extension SandboxStore {
    /// The snapshot columns in the order `decodeSnapshot` reads and `snapshotValues` binds them.
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

    /// Snapshots matching `filter`, newest first (created_at, then id, descending).
    public func snapshots(_ filter: SnapshotFilter) throws(StoreError) -> [Snapshot] {
        var conditions: [String] = []
        var values: [SQLValue] = []
        if let sandboxId = filter.sandboxId { conditions.append("sandbox_id = ?"); values.append(.text(sandboxId)) }
        if let states = filter.states {
            let names = states.map(\.rawValue).sorted()
            conditions.append("state IN (\(Array(repeating: "?", count: names.count).joined(separator: ", ")))")
            values += names.map(SQLValue.text)
        }
        if let owner = filter.owner { conditions.append("owner = ?"); values.append(.text(owner)) }
        if let name = filter.name { conditions.append("name = ?"); values.append(.text(name)) }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        values.append(Self.limitValue(filter.limit))
        return try locked { () throws(StoreError) in
            try selectSnapshots("\(whereClause) ORDER BY created_at DESC, id DESC LIMIT ?", values, doing: "Listing snapshots")
        }
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

    static func decodeSnapshot(_ row: SQLiteStatement, path: String) throws(StoreError) -> Snapshot {
        let id = row.text(0)
        func corrupt(_ what: String) -> StoreError {
            StoreError(code: .corrupt, message: "Snapshot \(id) in the store at \(path) has \(what).")
        }
        guard let state = SnapshotState(rawValue: row.text(5)) else { throw corrupt("an unknown state") }
        guard let trigger = SnapshotTrigger(rawValue: row.text(10)) else { throw corrupt("an unknown trigger") }
        var deleted: SnapshotDeletion?
        if let raw = row.optionalText(11) {
            guard let known = SnapshotDeletion(rawValue: raw) else { throw corrupt("an unknown deletion reason") }
            deleted = known
        }
        return Snapshot(id: id, sandboxId: row.text(1), backend: row.text(2), profile: row.text(3), name: row.optionalText(4),
                        state: state, sizeBytes: row.optionalInt64(6), backendRef: row.optionalText(7),
                        createdAt: Date(millisecondsSince1970: row.int64(8)), updatedAt: Date(millisecondsSince1970: row.int64(9)),
                        trigger: trigger, deletedReason: deleted, owner: row.optionalText(12), hostId: row.text(13),
                        intent: SnapshotIntent(storedJSON: row.text(14)), message: row.optionalText(15))
    }
}
