import CSQLite
import Foundation
import Testing
@testable import Basics
@testable import HTTPServer
@testable import YAMLSubset
@testable import PluginProtocol
@testable import Core
@testable import Config
@testable import Store
@testable import Backends
@testable import Lifecycle
@testable import Webhooks
@testable import API
@testable import CLI

@Suite("SandboxStore opening and migrations")
struct StoreMigrationTests {
    let directory: StoreDirectory

    init() throws { directory = try StoreDirectory() }

    /// Runs `sql` on the file through a plain connection (as an operator's sqlite3 shell would).
    private func rawQuery(_ sql: String) throws -> [String] {
        let connection = try SQLiteConnection(path: directory.dbPath, busyTimeoutMilliseconds: 1000)
        return try connection.rows(sql, [], doing: "test query") { $0.text(0) }
    }

    @Test func createsTheSchemaInWALMode() throws {
        let store = try directory.open()
        #expect(store.schemaVersion == SandboxStore.migrations.count)
        #expect(store.path == directory.dbPath)
        #expect(try rawQuery("PRAGMA journal_mode") == ["wal"])
        #expect(try rawQuery("SELECT version FROM schema_migrations ORDER BY version")
                == (1...SandboxStore.migrations.count).map(String.init))
        let tables = try rawQuery("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        for table in ["events", "sandbox_labels", "sandboxes", "schema_migrations"] {
            #expect(tables.contains(table))
        }
    }

    @Test func reopeningAppliesNothingAndKeepsData() throws {
        do {
            let store = try directory.open()
            try store.insert(makeSandbox("sbx-a"), event: createdEvent("sbx-a"))
        }
        let applied = try rawQuery("SELECT applied_at FROM schema_migrations ORDER BY version")
        let reopened = try directory.open()
        #expect(reopened.schemaVersion == SandboxStore.migrations.count)
        #expect(try rawQuery("SELECT applied_at FROM schema_migrations ORDER BY version") == applied)
        #expect(try reopened.get(id: "sbx-a") == makeSandbox("sbx-a"))
    }

    /// A store written by schema 1 (issue 2's sandboxer) opens under schema 2 with its rows intact,
    /// the new columns empty and a store id made once.
    @Test func aVersionOneStoreUpgradesInPlace() throws {
        let connection = try SQLiteConnection(path: directory.dbPath, busyTimeoutMilliseconds: 1000)
        try connection.execute("""
            CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL);
            \(SandboxStore.migrations[0])
            INSERT INTO schema_migrations VALUES (1, 0);
            INSERT INTO sandboxes (id, profile, backend, state, ttl_seconds, max_ttl_seconds, created_at, ready_at,
                updated_at, expires_at, request, host_id) VALUES
                ('sbx-00000000000000aa', 'p', 'b', 'ready', 60, 120, 1000, 2000, 2000, 62000, '{}', 'h');
            INSERT INTO events (sandbox_id, type, at) VALUES ('sbx-00000000000000aa', 'ready', 2000);
            """, doing: "writing a version 1 store")
        let store = try directory.open()
        #expect(store.schemaVersion == SandboxStore.migrations.count)
        let row = try #require(try store.get(id: "sbx-00000000000000aa"))
        #expect(row.state == .ready && row.expiresAt == Date(millisecondsSince1970: 62000))
        #expect(row.expiryWarningSeconds == nil && row.lastActivity == nil && row.sourceSnapshot == nil)
        #expect(try store.events(sandboxId: nil, since: nil, limit: nil).map(\.type) == ["ready"])
        #expect(store.storeId.count == 16)
        #expect(try directory.open().storeId == store.storeId)
        for table in ["snapshots", "webhook_deliveries", "webhook_cursors", "store_meta"] {
            #expect(try rawQuery("SELECT name FROM sqlite_schema WHERE type = 'table'").contains(table))
        }
    }

    /// A version-2 store gets its owners as columns (from the owner label) on its sandboxes and their
    /// events, so a consumer's listings and event pages find the rows it owned before the upgrade.
    @Test func aVersionTwoStoreGetsOwnerColumns() throws {
        let connection = try SQLiteConnection(path: directory.dbPath, busyTimeoutMilliseconds: 1000)
        try connection.execute("""
            CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL);
            \(SandboxStore.migrations[0])
            \(SandboxStore.migrations[1])
            INSERT INTO schema_migrations VALUES (1, 0), (2, 0);
            INSERT INTO sandboxes (id, profile, backend, state, ttl_seconds, max_ttl_seconds, created_at, ready_at,
                updated_at, expires_at, labels, request, host_id) VALUES
                ('sbx-00000000000000aa', 'p', 'b', 'ready', 60, 120, 1000, 2000, 2000, 62000,
                 '{"sandboxer.owner":"a"}', '{}', 'h'),
                ('sbx-00000000000000bb', 'p', 'b', 'ready', 60, 120, 1000, 2000, 2000, 62000, '{}', '{}', 'h');
            INSERT INTO sandbox_labels VALUES ('sbx-00000000000000aa', 'sandboxer.owner', 'a');
            INSERT INTO events (sandbox_id, type, at) VALUES ('sbx-00000000000000aa', 'ready', 2000),
                ('sbx-00000000000000bb', 'ready', 2000), ('sbx-00000000000000cc', 'orphan_reaped', 3000);
            """, doing: "writing a version 2 store")
        let store = try directory.open()
        #expect(store.schemaVersion == SandboxStore.migrations.count)
        #expect(try store.list(SandboxFilter(owner: "a")).map(\.id) == ["sbx-00000000000000aa"])
        #expect(try store.list(SandboxFilter()).count == 2)
        let page = try store.eventPage(sandboxId: nil, owner: "a", since: nil, limit: 10)
        #expect(page.events.map(\.sandboxId) == ["sbx-00000000000000aa"] && page.next == 3)
        #expect(try rawQuery("SELECT count(*) FROM events WHERE owner IS NULL") == ["2"])
    }

    @Test func refusesADatabaseFromTheFuture() throws {
        _ = try directory.open()
        let future = SandboxStore.migrations.count + 1
        _ = try rawQuery("INSERT INTO schema_migrations (version, applied_at) VALUES (\(future), 0) RETURNING version")
        let error = #expect(throws: StoreError.self) { try directory.open() }
        #expect(error?.code == .migration)
        #expect(error?.message.contains("schema version \(future)") == true)
        #expect(error?.message.contains(directory.dbPath) == true)
    }

    @Test func aFileThatIsNotADatabaseIsCorrupt() throws {
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: directory.dbPath))
        let error = #expect(throws: StoreError.self) { try directory.open() }
        #expect(error?.code == .corrupt)
        #expect(error?.message.contains(directory.dbPath) == true)
    }

    @Test func aMissingDirectoryIsAnOpenError() throws {
        let path = directory.url.appendingPathComponent("missing/sandboxer.db").path
        let error = #expect(throws: StoreError.self) { try SandboxStore(path: path) }
        #expect(error?.code == .open)
        #expect(error?.message.contains(path) == true)
    }

    @Test func aBrokenMigrationRollsBackAndReportsMigration() throws {
        let connection = try SQLiteConnection(path: directory.dbPath, busyTimeoutMilliseconds: 1000)
        // A table the first script creates already exists, so migration 1 fails midway and must leave nothing.
        try connection.execute("CREATE TABLE events (x)", doing: "test setup")
        let error = #expect(throws: StoreError.self) { try directory.open() }
        #expect(error?.code == .migration)
        #expect(try rawQuery("SELECT count(*) FROM schema_migrations") == ["0"])
        #expect(try rawQuery("SELECT count(*) FROM sqlite_schema WHERE name = 'sandboxes'") == ["0"])
    }
}
