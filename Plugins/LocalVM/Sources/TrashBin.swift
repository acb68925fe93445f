import Basics
import CLocalVM
import FoundationEssentials
import Glibc
import PluginKit
import Synchronization

/// Directories of destroyed sandboxes waiting to be removed, under `<data_dir>/trash/`.
///
/// Destroy detaches what is mounted under a sandbox's directory, renames the directory in here (one
/// `rename`, on the same file system) once nothing of the sandbox runs any more, and answers; a
/// detached remover process (the init program's remover mode, `spawnRemover`; a background thread
/// where that program is missing) then removes it, which took ~25 ms of `unlinkat` per destroy on
/// a loaded host (the lazy unmounts, 7-18 ms there, stay in the answer: see `discard`). Whatever a
/// process exit or crash leaves here is finished by the next instance over the same data dir (at
/// its start, in the background); `drain()` removes everything synchronously, for tests that prove
/// cleanup; at an instance's end and at a process's exit, what is left and no remover owns yet
/// goes to a detached remover process (`handOff`).
final class TrashBin: @unchecked Sendable {
    // @unchecked: `running`, `again`, `spawning` and `handed` are touched only with `state` held; removal itself is
    // serialized by `removal`, so two threads never remove the same tree at once.

    /// `<data_dir>/trash`
    let dir: String
    private let state = Condition()
    private let removal = Lock()
    private var running = false
    private var again = false
    /// Trash entries a remover process started by this bin owns (`handOff` need not hand them again).
    private var handed = Set<String>()
    /// Threads starting a remover for `discard` (`handOff` waits for them: about a millisecond each).
    private var spawning = 0

    /// False only in tests that look at the trash before anything removes it.
    private let removesInBackground: Bool

    /// The init program run in its remover mode by `handOff` (`spawnRemover`); nil: fork instead.
    let removerProgram: String?

    init(dataDir: String, removesInBackground: Bool = true, removerProgram: String? = InitProgram.programPath) {
        dir = dataDir + "/trash"
        self.removesInBackground = removesInBackground
        self.removerProgram = removerProgram
    }

    /// Detaches the mounts under `path` (a directory of `sandboxId`), moves it into the trash and
    /// schedules its removal; when it cannot be moved (the directory is itself a mount point, say),
    /// unmounts and removes it here and now (the old, synchronous path).
    func discard(_ path: String, sandboxId: String) throws(PluginError) {
        // Mounts are detached here, before the answer: a process that exits (or is killed, or a
        // plugin runner ending with its host) before the background removal must leave plain files
        // in the trash, which the next instance removes, never a mount (found by plugin-check.sh:
        // a runner's trash entry kept its ctl tmpfs mounted and `rm -rf` failed with EBUSY).
        try MountTable.detachAll(under: path)
        // A unique name: the same id can be destroyed again before the trash is drained.
        let name = sandboxId + "." + String(UInt64.random(in: 0 ... .max), radix: 16)
        guard Glibc.mkdir(dir, 0o700) == 0 || errno == EEXIST, rename(path, dir + "/" + name) == 0 else {
            try MountTable.detachAll(under: path)
            return try FileOps.removeTree(path)
        }
        guard removesInBackground else { return }
        // A remover process of its own (the init program's remover mode), started from a thread:
        // nothing of the removal runs in this process, so a CLI's exit never waits for an unlinkat
        // in flight (each can wait for a synchronous discard on a file system mounted `discard`),
        // and the answer does not wait for the spawn either (inline, it added 2-4 ms to a destroy
        // through the C ABI under load). The in-process removal where that program is missing.
        if removerProgram != nil { startRemover(name) } else { scheduleDrain() }
    }

    /// Hands the entry `name` to a remover process started from a thread of its own; the
    /// in-process removal when the program does not start.
    private func startRemover(_ name: String) {
        Self.drainAtExit(self)
        state.withLock { spawning += 1 }
        let thread = PosixThread { [self] in
            let started = spawnRemover()
            if started { markHanded([name]) }
            state.withLock {
                spawning -= 1
                state.broadcast()
            }
            if !started { scheduleDrain() }
        }
        thread.name = "localvm-trash"
        thread.start()
    }

    /// Starts a background removal of everything in the trash, unless one is running (which then
    /// makes one more pass, so an entry added meanwhile is not missed).
    func scheduleDrain() {
        let start = state.withLock { () -> Bool in
            if running { again = true; return false }
            running = true
            return true
        }
        guard start else { return }
        Self.drainAtExit(self)
        let thread = PosixThread { [self] in
            while true {
                try? drain()
                let more = state.withLock { () -> Bool in
                    if again { again = false; return true }
                    running = false
                    state.broadcast()
                    return false
                }
                if !more { return }
            }
        }
        thread.name = "localvm-trash"
        thread.start()
    }

    /// Removes everything in the trash now; waits for a removal under way. Throws the first
    /// entry that could not be removed (the others are still tried).
    func drain() throws(PluginError) {
        removal.lock()
        defer { removal.unlock() }
        var failure: PluginError?
        let names = FileOps.list(dir)
        guard !names.isEmpty else { return }
        // One read of the mount table for the whole trash (discard detached already; this is for
        // entries an older version or a crash left); an entry whose mount stays fails its removal.
        do { try MountTable.detachAll(under: dir) } catch { failure = error }
        for name in names {
            do { try FileOps.removeTree(dir + "/" + name) } catch { failure = failure ?? error }
        }
        if let failure { throw failure }
    }

    /// Records entries a started remover owns (it lists the trash after they were there). Names
    /// the trash no longer holds are dropped once there are more than a few, so a long-lived
    /// process (serve) does not keep one per destroy.
    func markHanded(_ names: [String]) {
        let present = state.withLock { handed.count >= 64 } ? Set(entries) : nil
        state.withLock {
            if let present { handed.formIntersection(present) }
            handed.formUnion(names)
        }
    }

    func isHanded(_ name: String) -> Bool {
        state.withLock { handed.contains(name) }
    }

    /// Blocks until no background removal runs and no remover is being started (tests: what an
    /// instance's start removed; `handOff`).
    func waitIdle() {
        state.lock()
        while running || spawning > 0 { state.wait() }
        state.unlock()
    }

    /// Blocks until no remover is being started by `discard`'s threads.
    func waitSpawned() {
        state.lock()
        while spawning > 0 { state.wait() }
        state.unlock()
    }

    /// Names still in the trash (tests: empty after `drain`).
    var entries: [String] { FileOps.list(dir) }
}

extension TrashBin {
    /// Bins that scheduled a background removal in this process. A CLI command can end with
    /// `exit()` while its plugin instance is still referenced (its deinit, which drains, never runs),
    /// racing the background thread, which the exit then cuts short (found by the kill -9 fault
    /// tests: "trash/sbx-…" after the next command). So at exit, what is still in each bin is
    /// handed to a detached remover process (`handOff`): the command leaves no trash behind,
    /// and does not wait for the removal either (it was ~2–7 ms of a CLI `destroy`).
    fileprivate static let pendingAtExit = Mutex<[ObjectIdentifier: TrashBin]>([:])
    private static let exitHook: Void = { atexit { TrashBin.drainPending() } }()

    static func drainAtExit(_ bin: TrashBin) {
        _ = exitHook
        pendingAtExit.withLock { $0[ObjectIdentifier(bin)] = bin }
    }

    private static func drainPending() {
        for bin in pendingAtExit.withLock({ Array($0.values) }) { bin.handOff() }
    }

    /// Leaves what is still in the trash to a process of its own that outlives this one: the init
    /// program's remover mode (`spawnRemover`), else a fork of this process
    /// (`clvm_trash_remove_detached`); removes it here, synchronously, when none can be started.
    /// At exit, and at an instance's end (its deinit: the end of a CLI command, serve's shutdown).
    /// The background thread may still be removing an entry: the two removals tolerate each other.
    /// An entry the remover cannot finish (a mount left by an older version) stays for the next
    /// instance's start, which unmounts and removes it.
    func handOff() {
        // A remover being started owns its entry once it runs: wait for that (not for a removal).
        waitSpawned()
        let left = entries
        guard left.contains(where: { !isHanded($0) }) else { return }
        if spawnRemover() { markHanded(left) } else if clvm_trash_remove_detached(dir) != 0 { try? drain() }
        // The remover (or the drain) owns what is there now: at exit, this bin needs no second
        // remover (a CLI's deinit hands off first; the exit found the same entries still there,
        // being removed, and forked again: 2 fork pairs per `destroy` in `strace -f`).
        Self.pendingAtExit.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(self)) }
    }
}
