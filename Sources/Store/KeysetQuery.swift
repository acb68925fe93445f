import FoundationEssentials
import Glibc
import Core
import Basics

/// A listing ordered by `(created_at, id)`, read from a cursor in index order.
///
/// The SQL walks an index whose columns are the listing's equality filters followed by
/// `(created_at, id)`, so the rows come out sorted and SQLite stops after `LIMIT`: a page costs its
/// own rows, whatever the table holds. A filter on several values of one indexed column (states)
/// becomes one *arm* per value, each an ordered index range, merged by a compound `UNION ALL …
/// ORDER BY` (SQLite merges ordered arms lazily instead of sorting them all).
struct KeysetQuery {
    /// One SQL condition and the values it binds, in order.
    struct Condition {
        var sql: String
        var values: [SQLValue]

        init(_ sql: String, _ values: [SQLValue] = []) {
            self.sql = sql
            self.values = values
        }
    }

    var table: String
    var columns: String
    /// The index every arm must walk (`INDEXED BY`): the statement fails rather than scans if it stops
    /// applying. Nil lets the planner choose.
    var index: String?
    /// One arm per condition, each selecting one ordered range; nil means a single arm, and an empty
    /// list means no row can match (there is no statement).
    var arms: [Condition]?
    /// Conditions every arm carries.
    var conditions: [Condition] = []
    var descending = false
    /// Rows strictly after this one in the listing's order.
    var after: PageCursor?
    /// At most this many rows; nil means all.
    var limit: Int?

    init(table: String, columns: String, index: String?) {
        self.table = table
        self.columns = columns
        self.index = index
    }

    /// The statement and its values; nil when `arms` is empty.
    var statement: (sql: String, values: [SQLValue])? {
        var shared = conditions
        if let after {
            shared.append(Condition("(created_at, id) \(descending ? "<" : ">") (?, ?)",
                                    [.integer(after.createdAt), .text(after.id)]))
        }
        let from = "FROM \(table)" + (index.map { " INDEXED BY \($0)" } ?? "")
        var selects: [String] = []
        var values: [SQLValue] = []
        for arm in arms.map({ $0.map(Optional.some) }) ?? [nil] {
            let all = (arm.map { [$0] } ?? []) + shared
            let whereClause = all.isEmpty ? "" : " WHERE " + all.map(\.sql).joined(separator: " AND ")
            selects.append("SELECT \(columns) \(from)\(whereClause)")
            values += all.flatMap(\.values)
        }
        guard !selects.isEmpty else { return nil }
        let order = descending ? "created_at DESC, id DESC" : "created_at, id"
        return (selects.joined(separator: " UNION ALL ") + " ORDER BY \(order) LIMIT ?",
                values + [SandboxStore.limitValue(limit)])
    }
}
