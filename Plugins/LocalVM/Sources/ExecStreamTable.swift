import FoundationEssentials
import Basics
import Glibc
import PluginKit

/// The streamed commands of one LocalVM instance, by handle. Bounded in number; a handle the host
/// stops using (it crashed, or forgot to release) is reaped after `idleLimit` seconds by a thread.
///
/// That thread starts only once a command is added while another handle is held: a host that runs
/// one command at a time and releases it (every one-shot CLI `exec`) never needs it, and a thread
/// per CLI process cost a clone, a stack and, at the process's exit, one more thread to wake and
/// end. A command's timeout does not depend on it: the exec helper kills the command at its
/// deadline by itself (clvm_exec_spec.timeout_ms), and every read and wait enforces it too. What
/// waits for the thread is only the release of a forgotten handle whose instance starts no other
/// command: its pipes and the helper's exit status stay until then (or until the sandbox goes).
final class ExecStreamTable: @unchecked Sendable {
    // @unchecked: `sessions` and `reaperStarted` are touched only with `lock` held.

    /// Most handles held at once per instance.
    static let maxSessions = 256
    /// Seconds without any call naming a handle before it is released.
    let idleLimit: Double

    private let lock = Lock()
    private var sessions: [String: ExecStreamSession] = [:]
    private var reaperStarted = false

    init(idleLimit: Double = 120) { self.idleLimit = idleLimit }

    /// Whether the reaper thread runs (for tests).
    var reaperRunning: Bool { lock.withLock { reaperStarted } }

    /// Adds a session made by `make` (called only when there is room).
    func add(_ make: (String) throws(PluginError) -> ExecStreamSession) throws(PluginError) -> String {
        // 16 hex digits, zero-padded; not `String(cFormat:)`, whose CVarArg boxing costs a CLI's one exec
        // the runtime's conformance lookups (callgrind).
        let bits = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let handle = "xs-" + String(repeating: "0", count: 16 - bits.utf8.count) + bits
        let full = lock.withLock { sessions.count >= Self.maxSessions }
        if full {
            throw PluginError(.quota, "This localvm instance already runs \(Self.maxSessions) streamed commands; release some first.")
        }
        let session = try make(handle)
        lock.withLock {
            let othersHeld = !sessions.isEmpty
            sessions[handle] = session
            if othersHeld, !reaperStarted {
                reaperStarted = true
                let thread = PosixThread { [weak self] in self?.reapForever() }
                thread.name = "localvm-exec-reaper"
                thread.start()
            }
        }
        return handle
    }

    /// The session of `handle`, which must belong to `sandboxId`.
    func session(_ handle: String, sandboxId: String) throws(PluginError) -> ExecStreamSession {
        guard let session = lock.withLock({ sessions[handle] }), session.sandboxId == sandboxId else {
            throw PluginError(.notFound, "No streamed command \(handle) exists for sandbox \(sandboxId) (released, reaped, or never started).")
        }
        return session
    }

    /// Releases one handle; NOT_FOUND when it is already gone.
    func release(_ handle: String, sandboxId: String) throws(PluginError) {
        let session = try session(handle, sandboxId: sandboxId)
        lock.withLock { sessions[handle] = nil }
        session.release()
    }

    /// Releases every handle of a sandbox (it is being destroyed: its commands die with it).
    func releaseAll(sandboxId: String) {
        let doomed = lock.withLock { () -> [ExecStreamSession] in
            let matching = sessions.values.filter { $0.sandboxId == sandboxId }
            for s in matching { sessions[s.handle] = nil }
            return matching
        }
        doomed.forEach { $0.release() }
    }

    /// How many handles are held (for tests and plugin check).
    var count: Int { lock.withLock { sessions.count } }

    /// Once a second: `reap(now:)`.
    private func reapForever() {
        while true {
            PosixThread.sleep(forTimeInterval: 1)  // a housekeeping period, not a wait for an event
            reap(now: ExecStreamSession.monotonic())
        }
    }

    /// Kills commands past their timeout and releases handles idle for more than `idleLimit` at
    /// `now` (monotonic seconds; tests pass a later time instead of waiting).
    func reap(now: Double) {
        let all = lock.withLock { Array(sessions.values) }
        for session in all {
            session.enforceDeadline()
            if session.idleSeconds(now: now) > idleLimit {
                lock.withLock { sessions[session.handle] = nil }
                session.release()
            }
        }
    }
}
