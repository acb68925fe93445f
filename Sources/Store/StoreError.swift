import Core
import Basics
import CSQLite

/// A store failure: a code to branch on and a full-sentence message for people.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, coarsely enough to decide what to do about it.
    public enum Code: String, Sendable {
        /// The database file could not be opened or created.
        case open
        /// The schema could not be brought to the version this code expects.
        case migration
        /// A row broke a constraint (CHECK, NOT NULL, invalid JSON).
        case constraint
        /// Another connection held the lock past the busy timeout; retrying may succeed.
        case busy
        /// The file is not a database, or its contents do not make sense.
        case corrupt
        /// The disk failed, is full, or is read-only.
        case io
        /// The named row does not exist.
        case notFound
        /// A row with the same id or idempotency key already exists.
        case conflict
        /// Anything else (misuse, SQL errors): a bug rather than an operating condition.
        case other
    }

    public var code: Code
    public var message: String
    /// The SQLite (extended) result code behind the error, when SQLite raised it.
    var sqliteResult: Int32?

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "store error (\(code.rawValue)): \(message)" }
}

extension StoreError {
    /// Maps an SQLite result code (primary or extended) to a store error.
    ///
    /// `doing` names the operation ("inserting sandbox sbx-…"); the SQLite message is quoted after it.
    /// Messages never carry row values beyond ids: `sqlite3_errmsg` names columns, not data.
    static func sqlite(_ result: Int32, _ sqliteMessage: String, doing: String, path: String) -> StoreError {
        let code: Code
        switch result & 0xFF {
        case SQLITE_BUSY, SQLITE_LOCKED:
            code = .busy
        case SQLITE_CONSTRAINT:
            code = .constraint
        case SQLITE_CORRUPT, SQLITE_NOTADB, SQLITE_FORMAT:
            code = .corrupt
        case SQLITE_CANTOPEN, SQLITE_PERM, SQLITE_AUTH:
            code = .open
        case SQLITE_IOERR, SQLITE_FULL, SQLITE_READONLY, SQLITE_NOLFS, SQLITE_PROTOCOL:
            code = .io
        default:
            code = .other
        }
        var error = StoreError(
            code: code, message: "\(doing) failed on the store at \(path): \(sqliteMessage) (SQLite code \(result)).")
        error.sqliteResult = result
        return error
    }

    /// Whether the SQLite code says a PRIMARY KEY or UNIQUE index refused a duplicate.
    var isDuplicate: Bool {
        // The extended-code macros are expressions Swift does not import; these are their definitions.
        let primaryKey = SQLITE_CONSTRAINT | (6 << 8), unique = SQLITE_CONSTRAINT | (8 << 8)
        return sqliteResult == primaryKey || sqliteResult == unique
    }
}
