import FoundationEssentials
import Glibc
import Core
import Basics
import CSQLite

/// A value bound to a statement parameter. Values are always bound, never spliced into SQL text.
enum SQLValue: Equatable {
    case integer(Int64)
    case text(String)
    case null

    static func integer(_ value: Int64?) -> SQLValue { value.map(SQLValue.integer) ?? .null }
    static func text(_ value: String?) -> SQLValue { value.map(SQLValue.text) ?? .null }
}

/// One sqlite3 handle with a prepared-statement cache.
///
/// Not thread-safe on purpose: its owner (`SandboxStore`) serializes every call under one lock,
/// so the handle is opened with `SQLITE_OPEN_NOMUTEX`.
final class SQLiteConnection {
    let path: String
    private let db: OpaquePointer
    private var cache: [String: SQLiteStatement] = [:]
    /// Dynamic SQL (list filters) varies with the filter's shape; past this many we start over.
    private static let cacheLimit = 64
    /// How many virtual-machine steps the last statement took: the work it did, rows it walked
    /// included. Tests read it to prove a page costs its own rows, not the table's.
    private(set) var lastStatementSteps = 0
    /// Region 0 of SQLite's own WAL-index mapping once `openWALIndex()` found it (SQLiteConnection+WALIndex).
    var walIndex: UnsafeRawPointer?
    /// Whether `openWALIndex` ran (its answer may be nil: then the stamp asks SQLite).
    var walIndexSought = false

    /// Opens (or creates) the file. The caller creates the parent directory.
    init(path: String, busyTimeoutMilliseconds: Int32) throws(StoreError) {
        self.path = path
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let result = sqlite3_open_v2(path, &handle, flags, nil)
        guard result == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(result))
            sqlite3_close_v2(handle)
            var error = StoreError.sqlite(result, message, doing: "Opening the database", path: path)
            if error.code == .other { error.code = .open }
            throw error
        }
        db = handle
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
        csqlite_disable_dqs(db)
    }

    /// Closing leaves the write-ahead log for the next connection instead of checkpointing it.
    func keepWALOnClose() { csqlite_keep_wal_on_close(db) }

    /// Rows changed through this handle that need no sync at close (`SandboxStore.updateActivity`).
    var changesNeedingNoSync: Int64 = 0

    /// Whether closing syncs the log: some change through this handle was not an activity write.
    var needsSyncAtClose: Bool { sqlite3_total_changes64(db) > changesNeedingNoSync }

    /// SQLite's own mapping of the WAL index (see SQLiteConnection+WALIndex), or nil.
    func sqliteWALIndex() -> UnsafeRawPointer? { csqlite_wal_index(db) }

    deinit {
        // The checkpoint on close is off (keepWALOnClose): sync the log once if this connection changed
        // rows, so a command's commits are on disk when it exits, as the checkpoint made them before.
        // Through an fd of our own: SQLite's own sync would also fsync the directory, which the first
        // commit into a new log already did.
        if needsSyncAtClose {
            let fd = open(path + "-wal", O_RDONLY | O_CLOEXEC)
            if fd >= 0 { _ = fdatasync(fd); close(fd) }
        }
        cache.removeAll()   // statements must be finalized before the handle closes
        sqlite3_close_v2(db)
    }

    /// Rows inserted, updated or deleted through this handle since it was opened (triggers included).
    var totalChanges: Int64 { sqlite3_total_changes64(db) }

    /// Runs one or more SQL statements that bind nothing (pragmas, migration scripts).
    func execute(_ sql: String, doing: String) throws(StoreError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let result = sqlite3_exec(db, sql, nil, nil, &errorMessage)
        guard result == SQLITE_OK else {
            let message = errorMessage.map { String(cString: $0) } ?? lastMessage
            sqlite3_free(errorMessage)
            throw StoreError.sqlite(sqlite3_extended_errcode(db), message, doing: doing, path: path)
        }
    }

    /// Prepares (or reuses) `sql`, binds `values`, hands the statement to `body`, and always resets it,
    /// so no statement keeps a read snapshot open after the call (other processes' writes stay visible).
    func withStatement<T>(_ sql: String, _ values: [SQLValue], doing: String,
                          _ body: (SQLiteStatement) throws(StoreError) -> T) throws(StoreError) -> T {
        let statement = try prepare(sql, doing: doing)
        defer {
            lastStatementSteps = statement.takeStepCount()
            statement.reset()
        }
        try statement.bind(values, doing: doing)
        return try body(statement)
    }

    /// Runs a statement that returns no rows; returns the number of rows it changed.
    @discardableResult
    func run(_ sql: String, _ values: [SQLValue], doing: String) throws(StoreError) -> Int {
        try withStatement(sql, values, doing: doing) { (statement) throws(StoreError) -> Int in
            while try statement.step() {}
            return Int(sqlite3_changes(db))
        }
    }

    /// Collects one value per result row.
    func rows<T>(_ sql: String, _ values: [SQLValue], doing: String,
                 _ decode: (SQLiteStatement) throws(StoreError) -> T) throws(StoreError) -> [T] {
        try withStatement(sql, values, doing: doing) { (statement) throws(StoreError) -> [T] in
            var result: [T] = []
            while try statement.step() { result.append(try decode(statement)) }
            return result
        }
    }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT`, rolling back if it throws.
    ///
    /// IMMEDIATE takes the write lock up front: a deferred transaction that reads and then writes can
    /// fail with SQLITE_BUSY at once when another process wrote in between, with no busy wait.
    func transaction<T>(doing: String, _ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try execute("BEGIN IMMEDIATE", doing: doing)
        let value: T
        do {
            value = try body()
            try execute("COMMIT", doing: doing)
        } catch {
            if sqlite3_get_autocommit(db) == 0 { sqlite3_exec(db, "ROLLBACK", nil, nil, nil) }
            throw error
        }
        return value
    }

    /// The error message of the last failed call on this handle.
    var lastMessage: String { String(cString: sqlite3_errmsg(db)) }

    private func prepare(_ sql: String, doing: String) throws(StoreError) -> SQLiteStatement {
        if let cached = cache[sql] { return cached }
        var handle: OpaquePointer?
        let result = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil)
        guard result == SQLITE_OK, let handle else {
            throw StoreError.sqlite(result, lastMessage, doing: doing, path: path)
        }
        let statement = SQLiteStatement(handle: handle, db: db, path: path)
        if cache.count >= Self.cacheLimit { cache.removeAll() }
        cache[sql] = statement
        return statement
    }
}

/// A prepared statement; lives in its connection's cache and is finalized with it.
final class SQLiteStatement {
    private let handle: OpaquePointer
    private let db: OpaquePointer
    private let path: String
    /// The operation the statement serves, for error messages (set when values are bound).
    private var doing = "Running a statement"

    /// Result column name → index, read once when the statement is prepared (it lives in the cache),
    /// so rows are decoded by name and a reordered SELECT list cannot shift values into wrong fields.
    private let columnIndexes: [String: Int32]

    init(handle: OpaquePointer, db: OpaquePointer, path: String) {
        self.handle = handle
        self.db = db
        self.path = path
        var indexes: [String: Int32] = [:]
        for column in 0..<sqlite3_column_count(handle) {
            guard let name = sqlite3_column_name(handle, column) else { continue }
            // The first of two equal names wins; the store's statements select each name once.
            let key = String(cString: name)
            if indexes[key] == nil { indexes[key] = column }
        }
        columnIndexes = indexes
    }

    deinit { sqlite3_finalize(handle) }

    func bind(_ values: [SQLValue], doing: String) throws(StoreError) {
        self.doing = doing
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let result: Int32
            switch value {
            case .integer(let number): result = sqlite3_bind_int64(handle, index, number)
            case .text(let string): result = sqlite3_bind_text(handle, index, string, -1, csqlite_transient())
            case .null: result = sqlite3_bind_null(handle, index)
            }
            guard result == SQLITE_OK else {
                throw StoreError.sqlite(result, String(cString: sqlite3_errmsg(db)), doing: doing, path: path)
            }
        }
    }

    /// Advances one row: true when a row is ready, false when done.
    func step() throws(StoreError) -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let result:
            // With extended codes on, sqlite3_step returns the extended code itself.
            throw StoreError.sqlite(result, String(cString: sqlite3_errmsg(db)), doing: doing, path: path)
        }
    }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// The virtual-machine steps since the last call (the counter restarts at zero).
    func takeStepCount() -> Int { Int(sqlite3_stmt_status(handle, SQLITE_STMTSTATUS_VM_STEP, 1)) }

    /// The index of the result column `name`; a name the statement does not select is a bug in the store.
    func column(_ name: String) throws(StoreError) -> Int32 {
        guard let index = columnIndexes[name] else {
            throw StoreError(code: .other, message: "\(doing) read the column '\(name)', which its statement does not select (a bug in the store).")
        }
        return index
    }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    func optionalInt64(_ column: Int32) -> Int64? { isNull(column) ? nil : int64(column) }

    func text(_ column: Int32) -> String {
        guard let bytes = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    func optionalText(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }

    // By name: what row decoders use.

    func int64(_ name: String) throws(StoreError) -> Int64 { int64(try column(name)) }

    func optionalInt64(_ name: String) throws(StoreError) -> Int64? { optionalInt64(try column(name)) }

    func text(_ name: String) throws(StoreError) -> String { text(try column(name)) }

    func optionalText(_ name: String) throws(StoreError) -> String? { optionalText(try column(name)) }

    /// A millisecond time column as a date.
    func date(_ name: String) throws(StoreError) -> Date { Date(millisecondsSince1970: try int64(name)) }

    func optionalDate(_ name: String) throws(StoreError) -> Date? {
        try optionalInt64(name).map(Date.init(millisecondsSince1970:))
    }
}
