import FoundationEssentials

extension SandboxStore {
    /// Whether any row is in a state that a crashed command could have left behind: a sandbox
    /// provisioning, expired or destroying, a snapshot creating or deleting, an image building.
    /// One statement (three indexed `EXISTS` probes) that a CLI runs at start instead of the three
    /// reconcile queries when, as almost always, nothing is in flight: each statement is parsed once
    /// per process (`sqlite3_prepare`), and their rows are decoded into values only to be skipped.
    public func hasInterruptedWork() throws(StoreError) -> Bool {
        try locked { () throws(StoreError) in
            try connection.rows("""
                SELECT EXISTS(SELECT 1 FROM sandboxes WHERE state IN ('provisioning', 'expired', 'destroying'))
                    OR EXISTS(SELECT 1 FROM snapshots WHERE state IN ('creating', 'deleting'))
                    OR EXISTS(SELECT 1 FROM images WHERE state = 'building')
                """, [], doing: "Looking for interrupted work") { $0.int64(0) }.first != 0
        }
    }
}
