import Foundation
import Testing
@testable import Core
@testable import Store

/// The store stamp read from the WAL-index header without a lock (SQLiteConnection+WALIndex): every
/// commit by another connection, in this process or another, must move it, a checkpoint and a WAL
/// restart included; nothing written must leave it equal (no needless misses).
@Suite struct StoreStampTests {
    /// A commit through `store` that touches no sandbox (store_meta), so tests can write freely.
    static func commit(_ store: SandboxStore, _ value: String) throws {
        try store.locked { () throws(StoreError) in
            _ = try store.connection.run("INSERT OR REPLACE INTO store_meta (key, value) VALUES ('stamp-test', ?)",
                                     [.text(value)], doing: "test")
        }
    }

    static func checkpointTruncate(_ store: SandboxStore) throws {
        try store.locked { () throws(StoreError) in
            try store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)", doing: "test")
        }
    }

    /// The mxFrame field (bytes 16..19 of the header): frames in the log.
    static func frames(_ version: StoreVersion) throws -> UInt32 {
        var header = try #require(version.walIndexHeader)
        return withUnsafeBytes(of: &header) { $0.load(fromByteOffset: 16, as: UInt32.self) }
    }

    @Test func aFileStoreReadsTheHeaderAndAnIdleStoreKeepsItsStamp() throws {
        let dir = try StoreDirectory()
        let store = try dir.open()
        #expect(!store.connection.walIndexSought, "opening (every CLI command) looks for the WAL index")
        let first = try store.version()
        #expect(store.connection.walIndex != nil)
        #expect(first.walIndexHeader != nil)   // the lock-free path, not the PRAGMA fallback
        _ = try store.get(id: "sbx-00000000000000aa")   // a read moves nothing
        #expect(try store.version() == first)
    }

    @Test func thisStoresOwnWritesMoveTheStamp() throws {
        let dir = try StoreDirectory()
        let store = try dir.open()
        let before = try store.version()
        try store.insert(makeSandbox("sbx-0000000000000001"), event: createdEvent("sbx-0000000000000001"))
        let after = try store.version()
        #expect(after != before)
        #expect(after.walIndexHeader != before.walIndexHeader)   // the header alone moved too
    }

    @Test func aSecondStoresCommitsCheckpointAndRestartAreSeen() throws {
        let dir = try StoreDirectory()
        let reader = try dir.open()
        let writer = try dir.open()
        try Self.commit(writer, "0")   // the log has frames: the restart below starts it again
        var last = try reader.version()

        try writer.insert(makeSandbox("sbx-0000000000000002"), event: createdEvent("sbx-0000000000000002"))
        var now = try reader.version()
        #expect(now != last && now.localChanges == last.localChanges)   // moved by the header alone
        let (row, stamp) = try reader.getVersioned(id: "sbx-0000000000000002")
        #expect(row != nil && stamp == now)
        let framesBefore = try Self.frames(now)
        #expect(framesBefore > 0)
        last = now

        // A checkpoint copies the log into the database and empties it: the content is unchanged,
        // so the stamp may stay; it must stay a header read, and the mapping valid.
        try Self.checkpointTruncate(writer)
        now = try reader.version()
        #expect(now.walIndexHeader != nil)
        last = now

        // The next commit restarts the log (new salts, frame count from zero): a smaller mxFrame than
        // before, and a stamp that moved.
        try Self.commit(writer, "1")
        now = try reader.version()
        #expect(now != last)
        #expect(try Self.frames(now) < framesBefore)
        last = now

        // A commit of the same size after another restart gives the same mxFrame: the salts and iChange
        // still tell the two apart.
        try Self.checkpointTruncate(writer)
        let afterCheckpoint = try reader.version()
        try Self.commit(writer, "2")
        now = try reader.version()
        #expect(now != last && now != afterCheckpoint)
        #expect(try Self.frames(now) == (try Self.frames(last)))
    }

    @Test func aSQLiteProcessCommitsAreSeen() throws {
        guard let sqlite3 = PluginFixtures.which("sqlite3") else {
            print("skipped: the sqlite3 command is not installed (scripts/install-deps.sh installs it)")
            return
        }
        let dir = try StoreDirectory()
        let store = try dir.open()
        var last = try store.version()
        let steps = [
            "INSERT OR REPLACE INTO store_meta (key, value) VALUES ('stamp-test', 'a');",
            "PRAGMA wal_checkpoint(TRUNCATE); INSERT OR REPLACE INTO store_meta (key, value) VALUES ('stamp-test', 'b');",
            "INSERT OR REPLACE INTO store_meta (key, value) VALUES ('stamp-test', 'c');",
        ]
        for sql in steps {
            // Each process opens, commits and closes: while this store is open it is not the last
            // connection, so it neither deletes nor truncates the -shm the store reads.
            try PluginFixtures.run(sqlite3, ["-batch", dir.dbPath, sql])
            let now = try store.version()
            #expect(now.walIndexHeader != nil)
            #expect(now != last, "after: \(sql)")
            last = now
        }
        let value = try store.locked { () throws(StoreError) in
            try store.connection.rows("SELECT value FROM store_meta WHERE key = 'stamp-test'", [], doing: "test") { $0.text(0) }
        }
        #expect(value == ["c"])
    }

    @Test func anInMemoryStoreFallsBackToTheDataVersion() throws {
        let store = try SandboxStore(path: ":memory:")
        let first = try store.version()
        #expect(store.connection.walIndexSought && store.connection.walIndex == nil)
        #expect(first.walIndexHeader == nil)
        try Self.commit(store, "x")
        #expect(try store.version() != first)
    }
}
