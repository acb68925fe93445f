import FoundationEssentials
import Glibc
import Core
import Basics

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
        // 2: snapshots, expiry warnings, the source of the last activity, webhook delivery state.
        """
        CREATE TABLE store_meta (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        -- Names this store in event ids, so ids from two stores never collide at a webhook receiver.
        INSERT INTO store_meta (key, value) VALUES ('store_id', lower(hex(randomblob(8))));

        ALTER TABLE sandboxes ADD COLUMN expiry_warning_seconds INTEGER;  -- the profile's, at create time
        ALTER TABLE sandboxes ADD COLUMN warned_expires_at INTEGER;       -- the deadline a warning went out for
        -- expires_at - expiry_warning_seconds while that deadline is unwarned, else NULL; kept by the store.
        ALTER TABLE sandboxes ADD COLUMN warn_at INTEGER;
        ALTER TABLE sandboxes ADD COLUMN last_activity TEXT;               -- what last reset the idle clock
        ALTER TABLE sandboxes ADD COLUMN source_snapshot TEXT;             -- the snapshot it started from
        CREATE INDEX sandboxes_live_warn_at ON sandboxes (warn_at) WHERE state IN ('ready', 'active');

        CREATE TABLE snapshots (
            id             TEXT    NOT NULL PRIMARY KEY,
            sandbox_id     TEXT    NOT NULL,   -- no foreign key: sandbox rows are kept, but the id is history
            backend        TEXT    NOT NULL,
            profile        TEXT    NOT NULL,
            name           TEXT,
            state          TEXT    NOT NULL CHECK (state IN ('creating', 'ready', 'deleting', 'deleted', 'failed')),
            size_bytes     INTEGER,
            backend_ref    TEXT,
            created_at     INTEGER NOT NULL,
            updated_at     INTEGER NOT NULL,
            trigger        TEXT    NOT NULL,   -- manual or on_expire
            deleted_reason TEXT,               -- manual, retention_keep, retention_max_age, failed
            owner          TEXT,               -- the sandbox's sandboxer.owner label (consumers see their own)
            host_id        TEXT    NOT NULL,
            intent         TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(intent)),
            message        TEXT                -- why it failed
        );
        CREATE INDEX snapshots_sandbox ON snapshots (sandbox_id, created_at, id);
        CREATE INDEX snapshots_created ON snapshots (created_at, id);
        CREATE INDEX snapshots_in_flight ON snapshots (state) WHERE state IN ('creating', 'deleting');

        -- Webhook delivery: a cursor per sink over the events outbox, and one row per (sink, event)
        -- once the event is enqueued for that sink. Attempts are leased by pushing next_attempt_at.
        CREATE TABLE webhook_cursors (
            sink     TEXT    NOT NULL PRIMARY KEY,
            last_seq INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE webhook_deliveries (
            sink            TEXT    NOT NULL,
            event_seq       INTEGER NOT NULL,
            state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            last_status     INTEGER,
            last_error      TEXT,
            updated_at      INTEGER NOT NULL,
            PRIMARY KEY (sink, event_seq)
        ) WITHOUT ROWID;
        CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
        CREATE INDEX webhook_deliveries_dead ON webhook_deliveries (updated_at) WHERE state = 'dead';
        """,
        // 3: owners as columns, and indexes that serve paged listings (each page walks an index from
        // its cursor, so it costs its own rows; see SandboxStore+Pages.swift).
        """
        -- The sandboxer.owner label, kept by the store (labels never change after create).
        ALTER TABLE sandboxes ADD COLUMN owner TEXT;
        UPDATE sandboxes SET owner =
            (SELECT value FROM sandbox_labels WHERE sandbox_id = sandboxes.id AND key = 'sandboxer.owner');
        -- A consumer's listing: one ordered run per state, merged.
        CREATE INDEX sandboxes_owner ON sandboxes (owner, state, created_at, id) WHERE owner IS NOT NULL;

        -- The owner of the event's sandbox when the event was appended (NULL: an operator's or an orphan's).
        ALTER TABLE events ADD COLUMN owner TEXT;
        UPDATE events SET owner = (SELECT owner FROM sandboxes WHERE sandboxes.id = events.sandbox_id);
        CREATE INDEX events_owner ON events (owner, seq) WHERE owner IS NOT NULL;

        CREATE INDEX snapshots_owner ON snapshots (owner, created_at, id) WHERE owner IS NOT NULL;
        """,
        // 4: the backend's `info` from create/restore (compact JSON, at most 4 KiB), shown by `show`.
        """
        ALTER TABLE sandboxes ADD COLUMN backend_info TEXT CHECK (backend_info IS NULL OR json_valid(backend_info));
        """,
        // 5: indexes for the outbox retention (SandboxStore+Retention.swift): old events by time,
        // delivered rows by age, and "does any delivery still name this event".
        """
        CREATE INDEX events_at ON events (at);
        CREATE INDEX webhook_deliveries_delivered ON webhook_deliveries (updated_at) WHERE state = 'delivered';
        CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_seq);
        """,
        // 6: the images cache (docs/images.md). A building or ready row per cache key at most: the
        // building row with a live owner is the lock concurrent creates of one profile wait on.
        """
        CREATE TABLE images (
            id           TEXT    NOT NULL PRIMARY KEY,
            profile      TEXT    NOT NULL,
            builder      TEXT    NOT NULL,
            cache_key    TEXT    NOT NULL,
            state        TEXT    NOT NULL CHECK (state IN ('building', 'ready', 'failed')),
            artifacts    TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(artifacts)),
            size_bytes   INTEGER NOT NULL DEFAULT 0,
            log_path     TEXT,
            error        TEXT,
            owner_pid    INTEGER,
            owner_start  INTEGER,
            created_at   INTEGER NOT NULL,
            updated_at   INTEGER NOT NULL,
            last_used_at INTEGER
        );
        CREATE UNIQUE INDEX images_live_cache_key ON images (cache_key) WHERE state IN ('building', 'ready');
        CREATE INDEX images_created ON images (created_at, id);
        """,
        // 7: the built image a sandbox booted (docs/images.md, "Pinning"): set by the create or recreate
        // intent, NULL once the sandbox is destroyed or failed. No foreign key: `image-rm --force` may
        // remove a pinned image, and a row naming it must still be writable.
        """
        ALTER TABLE sandboxes ADD COLUMN image_id TEXT;
        CREATE INDEX sandboxes_image ON sandboxes (image_id, state) WHERE image_id IS NOT NULL;
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
