import Basics
import CSQLite

/// Runs one checkpoint of a store's log at a time (`csqlite_checkpoint_file`: PASSIVE, then a TRUNCATE
/// attempt that does not wait), on a thread and a connection of its own (`SandboxStore.checkpointAside`),
/// and lets the store's end wait for it.
// @unchecked Sendable: `running` is read and written only under `condition`.
final class LogCheckpointer: @unchecked Sendable {
    private let path: String
    private let condition = Condition()
    private var running = false

    init(path: String) { self.path = path }

    /// Starts a checkpoint unless one is running; returns at once.
    func start() {
        let started = condition.withLock { () -> Bool in
            if running { return false }
            running = true
            return true
        }
        guard started else { return }
        // The thread holds this object, not the store: the store's end can run (and wait here).
        let thread = PosixThread { [self] in
            var log: Int32 = 0, done: Int32 = 0
            // Best effort: a busy or failed checkpoint leaves the log for the next one or the backstop.
            _ = csqlite_checkpoint_file(path, &log, &done)
            condition.withLock {
                running = false
                condition.broadcast()
            }
        }
        thread.name = "sandboxer-ckpt"
        thread.besideCreator = true   // to be done by the time the backend answers
        thread.start()
    }

    /// Waits until the running checkpoint, if any, has finished.
    func wait() {
        condition.withLock {
            while running { condition.wait() }
        }
    }
}
