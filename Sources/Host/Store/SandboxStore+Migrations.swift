import Foundation

extension SandboxStore {
    /// The schema, as an ordered list of scripts: script `i` takes the database to version `i + 1`.
    /// Never edit a shipped script; append a new one.
    static let migrations: [String] = [
        // 1: sandboxes (+ labels side table for indexed label filters) and the events outbox.
        """
        CREATE TABLE sandboxes (
            id                TEXT    NOT NULL PRIMARY KEY,
            profile           TEXT    NOT NULL,
            backend           TEXT    NOT NULL,
            state             TEXT    NOT NULL CHECK (state IN
                ('provisioning', 'ready', 'active', 'expired', 'destroying', 'destroyed', 'failed')),
            ttl_seconds       INTEGER NOT NULL,
            max_ttl_seconds   INTEGER NOT NULL,
            idle_reap_seconds INTEGER,
            created_at        INTEGER NOT NULL,   -- milliseconds since the epoch, like every time column
            ready_at          INTEGER,
            updated_at        INTEGER NOT NULL,
            expires_at        INTEGER,
            idle_at           INTEGER,            -- updated_at + idle_reap_seconds * 1000, kept by the store
            labels            TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(labels)),
            backend_ref       TEXT,
            reason            TEXT,
            idempotency_key   TEXT,
            request           TEXT    NOT NULL,
            host_id           TEXT    NOT NULL
        );
        CREATE UNIQUE INDEX sandboxes_idempotency_key ON sandboxes (idempotency_key)
            WHERE idempotency_key IS NOT NULL;
        -- The expiry sweep reads only live rows: partial indexes stay as small as the live set.
        CREATE INDEX sandboxes_live_expires_at ON sandboxes (expires_at) WHERE state IN ('ready', 'active');
        CREATE INDEX sandboxes_live_idle_at ON sandboxes (idle_at) WHERE state IN ('ready', 'active');
        CREATE INDEX sandboxes_created ON sandboxes (created_at, id);
        CREATE INDEX sandboxes_state ON sandboxes (state, created_at, id);
        CREATE INDEX sandboxes_backend ON sandboxes (backend, created_at, id);
        CREATE INDEX sandboxes_profile ON sandboxes (profile, created_at, id);

        -- Mirrors sandboxes.labels so label filters use an index; rewritten on every insert/update.
        CREATE TABLE sandbox_labels (
            sandbox_id TEXT NOT NULL REFERENCES sandboxes (id) ON DELETE CASCADE,
            key        TEXT NOT NULL,
            value      TEXT NOT NULL,
            PRIMARY KEY (sandbox_id, key)
        ) WITHOUT ROWID;
        CREATE INDEX sandbox_labels_key_value ON sandbox_labels (key, value, sandbox_id);

        -- The outbox. No foreign key: orphan events name resources that never had a row.
        CREATE TABLE events (
            seq        INTEGER PRIMARY KEY AUTOINCREMENT,
            sandbox_id TEXT    NOT NULL,
            type       TEXT    NOT NULL,
            at         INTEGER NOT NULL,
            data       TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(data))
        );
        CREATE INDEX events_sandbox ON events (sandbox_id, seq);
        """,
    ]

    /// Brings the schema up to `migrations.count`, one transaction per script; returns the version.
    ///
    /// Each step re-reads the version inside its IMMEDIATE transaction, so two processes opening a
    /// fresh file at once apply every script exactly once.
    static func migrate(_ connection: SQLiteConnection) throws(StoreError) -> Int {
        do throws(StoreError) {
            try connection.execute("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    INTEGER NOT NULL PRIMARY KEY,
                    applied_at INTEGER NOT NULL
                )
                """, doing: "Creating the schema_migrations table")
        } catch {
            throw asMigrationError(error)
        }
        var version = try currentVersion(connection)
        try refuseIfNewer(version, path: connection.path)
        while version < migrations.count {
            let target = version + 1
            version = try connection.transaction(doing: "Migrating to schema version \(target)") {
                () throws(StoreError) -> Int in
                let current = try currentVersion(connection)
                try refuseIfNewer(current, path: connection.path)
                guard current < target else { return current }
                do throws(StoreError) {
                    try connection.execute(migrations[target - 1], doing: "Applying schema migration \(target)")
                } catch {
                    throw asMigrationError(error)
                }
                try connection.run("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                                   [.integer(Int64(target)), .integer(Date().millisecondsSince1970)],
                                   doing: "Recording schema migration \(target)")
                return target
            }
        }
        return version
    }

    static func currentVersion(_ connection: SQLiteConnection) throws(StoreError) -> Int {
        let versions = try connection.rows("SELECT coalesce(max(version), 0) FROM schema_migrations", [],
                                           doing: "Reading the schema version") { $0.int64(0) }
        return Int(versions.first ?? 0)
    }

    private static func refuseIfNewer(_ version: Int, path: String) throws(StoreError) {
        guard version > migrations.count else { return }
        throw StoreError(code: .migration, message: """
            The store at \(path) has schema version \(version), newer than version \(migrations.count) that \
            this sandboxer knows; upgrade sandboxer (a downgrade cannot read it).
            """)
    }

    /// A failing script is a migration failure, unless the cause is an operating condition to report as is.
    private static func asMigrationError(_ error: StoreError) -> StoreError {
        guard error.code == .other || error.code == .constraint else { return error }
        var migration = error
        migration.code = .migration
        return migration
    }
}
