import FoundationEssentials
import Glibc
import Core
import Basics

extension SandboxStore {
    /// Live sandboxes whose `expiry_warning` is due (`warn_at <= now`), oldest warning first.
    /// `warn_at` is set only while the current deadline is unwarned, so a warned sandbox drops out.
    public func warningsDue(at now: Date, limit: Int?) throws(StoreError) -> [Sandbox] {
        try locked { () throws(StoreError) in
            try selectSandboxes(Self.warningsDueClause, [.integer(now.millisecondsSince1970), Self.limitValue(limit)],
                                doing: "Finding sandboxes due for an expiry warning")
        }
    }

    /// Like `dueClause`: the partial index's `state IN (…)` is repeated literally so SQLite can use
    /// it, and `INDEXED BY` makes the statement fail rather than scan if it ever stops applying.
    static let warningsDueClause = """
        WHERE rowid IN (
            SELECT rowid FROM sandboxes INDEXED BY sandboxes_live_warn_at
                WHERE state IN ('ready', 'active') AND warn_at <= ?1
        )
        ORDER BY warn_at, id
        LIMIT ?2
        """

    /// Records the expiry warning for the deadline `expiresAt` of sandbox `id`, in one transaction:
    /// marks the deadline warned (which clears `warn_at`) and appends `event`. Conditional on the row
    /// still being live, still having that deadline, its warning being due, and it not being due for
    /// expiry itself at `now`. Returns true when this call sent the warning; false when another
    /// sweep did, the deadline moved, or the sandbox is already due (the sweep expires it instead).
    public func recordExpiryWarning(id: String, expiresAt: Date, event: SandboxEvent, now: Date) throws(StoreError) -> Bool {
        let doing = "Recording the expiry warning of sandbox \(id)"
        let nowMs = SQLValue.integer(now.millisecondsSince1970)
        return try locked { () throws(StoreError) in
            try connection.transaction(doing: doing) { () throws(StoreError) -> Bool in
                let changed = try connection.run("""
                    UPDATE sandboxes SET warned_expires_at = expires_at, warn_at = NULL
                    WHERE id = ?1 AND state IN ('ready', 'active') AND warn_at IS NOT NULL AND warn_at <= ?2
                      AND expires_at = ?3 AND expires_at > ?2 AND (idle_at IS NULL OR idle_at > ?2)
                    """, [.text(id), nowMs, .integer(expiresAt.millisecondsSince1970)], doing: doing)
                guard changed == 1 else { return false }
                // A whole-row update from a copy read before this warning can put warn_at back; the
                // deadline is then marked warned again above, but no second event goes out for it.
                let sent = try connection.rows("""
                    SELECT 1 FROM events WHERE sandbox_id = ?1 AND type = 'expiry_warning'
                      AND json_extract(data, '$.expires_at') = ?2 LIMIT 1
                    """, [.text(id), .text(RFC3339.format(expiresAt))], doing: doing) { _ in true }
                guard sent.isEmpty else { return false }
                try appendEvents([event])
                return true
            }
        }
    }
}
