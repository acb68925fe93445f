import CSQLite

/// The 48-byte WAL-index header (https://www.sqlite.org/walformat.html, "The WAL-Index Header"):
/// iVersion, unused, iChange, isInit, bigEndCksum, szPage, mxFrame, nPage, aFrameCksum[2], aSalt[2],
/// aCksum[2]. Every commit by any connection rewrites it (iChange increments, mxFrame and the frame
/// checksum move; a WAL restart changes the salts), so two equal headers mean no commit in between.
/// Kept as six opaque words: the stamp only compares them.
struct WALIndexHeader: Equatable, Sendable {
    var word0: UInt64 = 0
    var word1: UInt64 = 0
    var word2: UInt64 = 0
    var word3: UInt64 = 0
    var word4: UInt64 = 0
    var word5: UInt64 = 0
}

extension SQLiteConnection {
    /// Finds SQLite's own mapping of the WAL index, once, right after the store is opened in WAL mode.
    ///
    /// The pointer stays valid while this connection is open: a connection in WAL mode keeps the WAL
    /// index mapped and holds a shared lock on the database file and on the index's DMS byte, so no
    /// other connection can delete the `-shm` file (that needs the exclusive database lock of the last
    /// connection) or truncate it (that needs the exclusive DMS lock). Left nil, so the stamp falls
    /// back to `PRAGMA data_version`, when the journal mode is not WAL (an in-memory store) or the
    /// locking mode is exclusive (SQLite then keeps the index in heap memory, not in the file).
    func openWALIndex(journalMode: String) throws(StoreError) {
        guard journalMode == "wal" else { return }
        let locking = try rows("PRAGMA locking_mode", [], doing: "Reading the locking mode") { $0.text(0).lowercased() }
        guard locking.first == "normal" else { return }
        walIndex = sqliteWALIndex()
    }

    /// The WAL-index header read without a lock or a system call, as SQLite's reader reads it
    /// (`csqlite_wal_index_header`); nil when there is no mapping, or a writer is updating the header
    /// this instant, or the index is not initialized: the caller then asks SQLite.
    func walIndexHeader() -> WALIndexHeader? {
        guard let walIndex else { return nil }
        var header = WALIndexHeader()
        let consistent = withUnsafeMutableBytes(of: &header) { bytes -> Bool in
            guard bytes.count == 48, let words = bytes.baseAddress?.assumingMemoryBound(to: UInt32.self) else { return false }
            return csqlite_wal_index_header(walIndex, words) != 0
        }
        return consistent ? header : nil
    }

    /// The log's frames, and how many of them no checkpoint has copied into the database file yet,
    /// by the WAL index; nil when the mapping is not known.
    func logFrames() -> (total: Int, uncheckpointed: Int)? {
        guard let walIndex else { return nil }
        let total = Int(csqlite_wal_index_frames(walIndex)), copied = Int(csqlite_wal_index_backfilled(walIndex))
        return (total, copied <= total ? total - copied : total)
    }
}
