import Basics
import CSQLite

/// Checkpoints of the write-ahead log out of the commands' way.
///
/// A checkpoint copies the log's pages into the database file and syncs both (three syncs with
/// `synchronous = NORMAL`). Run inline, by the commit that crosses the threshold, it landed in one
/// CLI create of five and cost that create ~2.7 ms (docs/performance.md "The store's log:
/// checkpoints aside"). Every command that changes a sandbox then waits on its backend (create, exec,
/// destroy: milliseconds of processes starting and stopping): the checkpoint runs during that wait,
/// on a thread and a connection of its own. It is PASSIVE: writers go on meanwhile, and what it
/// cannot copy yet stays in the log for the next one. The store's end waits for it, so a command
/// never exits with a checkpoint half done (harmless to SQLite, but wasted).
extension SandboxStore {
    /// A log this long is checkpointed aside when a command is about to wait on its backend.
    static let asideCheckpointFrames = 100
    /// A commit that brings the log this long checkpoints inline: commands that never wait on a
    /// backend, or a log that grew while an aside checkpoint could not keep up.
    static let backstopCheckpointFrames = 400

    /// Starts a checkpoint on a thread of its own if the log holds at least `asideCheckpointFrames`
    /// frames not yet checkpointed (by the WAL index, which every connection's commits and
    /// checkpoints update), and none is running. Call it right before waiting on something slow; it
    /// returns at once.
    public func checkpointAside() {
        guard journalMode == "wal" else { return }
        let pending = (try? locked { () throws(StoreError) -> Int in
            try findWALIndex()
            return connection.logFrames()?.uncheckpointed ?? 0
        }) ?? 0
        guard pending >= Self.asideCheckpointFrames else { return }
        checkpointer.start()
    }

    /// Waits until a checkpoint started by `checkpointAside` has finished.
    public func waitForCheckpoint() { checkpointer.wait() }
}
