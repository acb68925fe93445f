import Core

/// A stamp that changes whenever the store's contents may have changed: a commit by any other
/// connection (another process's CLI, a second store instance) rewrites the WAL-index header (or, when
/// that cannot be read, moves SQLite's `data_version`), and a row written through this connection
/// moves its total change count. Two equal stamps read through the same store mean nothing was
/// written in between, so a value derived from a read made between them is still exact (a rolled-back
/// write or a header rewritten by recovery moves the stamp too: a needless miss, never a stale hit).
public struct StoreVersion: Sendable, Equatable {
    /// The WAL-index header, read without a lock (SQLiteConnection+WALIndex); nil when it could not
    /// be read consistently and `dataVersion` was asked instead, so the two kinds never compare equal.
    var walIndexHeader: WALIndexHeader?
    /// `PRAGMA data_version` when there is no header (0 otherwise): moves when another connection commits.
    var dataVersion: Int64
    /// `sqlite3_total_changes64`: rows inserted, updated or deleted through this connection.
    var localChanges: Int64
}

extension SandboxStore {
    /// The store's current stamp (a cheap read: no table is touched).
    public func version() throws(StoreError) -> StoreVersion {
        try locked { () throws(StoreError) in try currentVersion() }
    }

    /// The sandbox `id` (nil when none) and the stamp it is current at, read under one hold of the
    /// lock; the stamp is taken first, so a write racing the read can only make the stamp older
    /// than the row (a later miss), never newer.
    public func getVersioned(id: String) throws(StoreError) -> (sandbox: Sandbox?, version: StoreVersion) {
        try locked { () throws(StoreError) in
            let version = try currentVersion()
            let sandbox = try selectSandboxes("WHERE id = ?", [.text(id)], doing: "Reading sandbox \(id)").first
            return (sandbox, version)
        }
    }

    /// Called with the lock held.
    private func currentVersion() throws(StoreError) -> StoreVersion {
        // Found on the first stamp, not at open: only serve's JSON cache asks for stamps, and a CLI
        // command need not pay the lookup's statement at start.
        try findWALIndex()
        // The header from shared memory: no fcntl read lock, no system call. PRAGMA data_version takes
        // SQLite's WAL read lock (two fcntl calls), the larger part of a cached GET's syscalls.
        if let header = connection.walIndexHeader() {
            return StoreVersion(walIndexHeader: header, dataVersion: 0, localChanges: connection.totalChanges)
        }
        let dataVersion = try connection.rows("PRAGMA data_version", [], doing: "Reading the store's data version") {
            $0.int64(0)
        }.first ?? 0
        return StoreVersion(walIndexHeader: nil, dataVersion: dataVersion, localChanges: connection.totalChanges)
    }
}

extension SandboxStore {
    /// The current stamp if the store's lock is free this instant; nil when another thread holds it
    /// (for the HTTP event loop, which must never wait on a write in progress).
    public func versionIfFree() throws(StoreError) -> StoreVersion? {
        try lockedIfFree { () throws(StoreError) in try currentVersion() }
    }

    /// Looks for SQLite's WAL-index mapping once (`SQLiteConnection.openWALIndex`). Called with the lock held.
    func findWALIndex() throws(StoreError) {
        guard !connection.walIndexSought else { return }
        connection.walIndexSought = true
        try connection.openWALIndex(journalMode: journalMode)
    }
}
