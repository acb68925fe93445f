import FoundationEssentials
import Glibc
import Core
import Basics

/// Paged listings: sandboxes and events filtered and paged in SQL, each page an index range.
extension SandboxStore {
    /// The statement `list` runs for `filter`: which index it walks, and what it merges.
    ///
    /// - A consumer's listing walks `sandboxes_owner (owner, state, created_at, id)`, one arm per state.
    /// - A state filter walks `sandboxes_state (state, created_at, id)`, one arm per state.
    /// - Otherwise the backend's, the profile's or the creation-order index, as one arm.
    /// The other criteria are checked on the rows walked (labels through their primary key).
    static func listQuery(_ filter: SandboxFilter) -> KeysetQuery {
        var labels = filter.labels
        // The owner column mirrors the owner label: an operator's label filter on it takes the index too.
        var owner = filter.owner
        if let asked = labels[SandboxLabels.owner], owner == nil || owner == asked {
            owner = asked
            labels[SandboxLabels.owner] = nil
        }
        var backend = filter.backend.map { KeysetQuery.Condition("backend = ?", [.text($0)]) }
        var profile = filter.profile.map { KeysetQuery.Condition("profile = ?", [.text($0)]) }
        // Sorted so equal filters produce equal SQL (one cached statement).
        let states = filter.states.map { $0.map(\.rawValue).sorted() }
        var query: KeysetQuery
        if let owner {
            query = KeysetQuery(table: "sandboxes", columns: sandboxColumns, index: "sandboxes_owner")
            let all = states ?? SandboxState.allCases.map(\.rawValue)
            query.arms = all.map { KeysetQuery.Condition("owner = ? AND state = ?", [.text(owner), .text($0)]) }
        } else if let states {
            query = KeysetQuery(table: "sandboxes", columns: sandboxColumns, index: "sandboxes_state")
            query.arms = states.map { KeysetQuery.Condition("state = ?", [.text($0)]) }
        } else if let driving = backend {
            query = KeysetQuery(table: "sandboxes", columns: sandboxColumns, index: "sandboxes_backend")
            query.arms = [driving]
            backend = nil
        } else if let driving = profile {
            query = KeysetQuery(table: "sandboxes", columns: sandboxColumns, index: "sandboxes_profile")
            query.arms = [driving]
            profile = nil
        } else {
            query = KeysetQuery(table: "sandboxes", columns: sandboxColumns, index: "sandboxes_created")
        }
        query.conditions = [backend, profile].compactMap { $0 }
        for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
            query.conditions.append(KeysetQuery.Condition(
                "EXISTS (SELECT 1 FROM sandbox_labels WHERE sandbox_id = sandboxes.id AND key = ? AND value = ?)",
                [.text(key), .text(value)]))
        }
        query.after = filter.after
        query.limit = filter.limit
        return query
    }

    /// Up to `limit` events after `since` (exclusive), oldest first, and the cursor to pass as `since`
    /// next time. `sandboxId` and `owner` (a consumer: only its sandboxes' events) filter in SQL.
    ///
    /// A page that is not full has seen every matching event up to the outbox's head when it was
    /// read, so its cursor moves to that head and the next poll does not walk the events it skipped.
    /// The head is read first and bounds the page: events are numbered in commit order (one writer at
    /// a time), so none at or below it can appear later.
    public func eventPage(sandboxId: String?, owner: String?, since: Int64?, limit: Int) throws(StoreError)
        -> (events: [SandboxEvent], next: Int64) {
        let start = since ?? 0
        return try locked { () throws(StoreError) in
            let head = try connection.rows("SELECT coalesce(max(seq), 0) AS head FROM events", [],
                                           doing: "Reading the events' head") { (row) throws(StoreError) in
                try row.int64("head")
            }.first ?? 0
            var sql = "SELECT \(Self.eventColumns) FROM events WHERE seq > ? AND seq <= ?"
            var values: [SQLValue] = [.integer(start), .integer(head)]
            if let sandboxId { sql += " AND sandbox_id = ?"; values.append(.text(sandboxId)) }
            if let owner { sql += " AND owner = ?"; values.append(.text(owner)) }
            sql += " ORDER BY seq LIMIT ?"
            values.append(Self.limitValue(limit))
            let found = try connection.rows(sql, values, doing: "Reading events") { (row) throws(StoreError) in
                try Self.decodeEvent(row)
            }
            let next = found.count >= limit ? (found.last?.seq ?? start) : max(start, head)
            return (found, next)
        }
    }

    // MARK: - For tests: what a statement does

    /// The `EXPLAIN QUERY PLAN` details of `sql`, bound to `values`.
    func queryPlan(sql: String, values: [SQLValue]) throws(StoreError) -> [String] {
        try locked { () throws(StoreError) in
            try connection.rows("EXPLAIN QUERY PLAN \(sql)", values, doing: "Explaining a query") { (row) throws(StoreError) in try row.text("detail") }
        }
    }

    /// How many virtual-machine steps the last statement took (what it read, not only what it returned).
    func lastStatementSteps() -> Int {
        (try? locked { () throws(StoreError) in connection.lastStatementSteps }) ?? 0
    }
}
