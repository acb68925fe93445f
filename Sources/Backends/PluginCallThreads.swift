import Dispatch
import FoundationEssentials
import Glibc
import Basics

/// The threads that run in-process plugin calls with a deadline (`PluginInstance.reply`,
/// `cancellableReply`): a call runs on one of them so that its caller can stop waiting at the
/// deadline. A thread whose call returned parks for the next call instead of ending, so a command
/// that makes several calls in a row (a streamed exec makes five to seven) starts one thread, not
/// one per call.
///
/// A call that outlives its deadline keeps its thread (the plugin is still in it); the next call then
/// finds no parked thread and starts another, exactly as before. A parked thread ends after
/// `idleSeconds` without work, so an idle `serve` keeps none. Plugins see no difference: a call ran on
/// a thread of its own before as well, and no plugin may keep state in a call's thread (the C ABI
/// allows calls from any thread).
final class PluginCallThreads: @unchecked Sendable {
    // @unchecked: `jobs` and `parked` are only touched with `condition` held.
    static let shared = PluginCallThreads()

    /// How long a parked thread waits for the next call before it ends.
    static let idleSeconds = 10.0
    /// Plugins may recurse deeply (JSON, Swift runtime): every call thread gets the usual 8 MiB.
    static let stackSize = 8 << 20

    private let condition = Condition()
    private var jobs: [Job] = []
    /// Threads waiting for a job (counted until they take one or end).
    private var parked = 0

    /// Runs `job` on a parked thread, or on a new one when none is free, then signals `done`. The
    /// thread counts itself parked before it signals, so a caller that makes its next call as soon as
    /// it wakes finds it (signalling inside `job` would race the thread back to its parking place).
    func run(_ job: @escaping @Sendable () -> Void, thenSignal done: DispatchSemaphore) {
        let work = Job(body: job, done: done)
        let handed: Bool = condition.withLock {
            // Each queued job is already promised to one parked thread.
            guard parked > jobs.count else { return false }
            jobs.append(work)
            condition.signal()
            return true
        }
        if handed { return }
        let thread = PosixThread { [self] in serve(work) }
        thread.stackSize = Self.stackSize
        // Its own name: a thread otherwise inherits its creator's ("sandboxer-preload" for the calls
        // the preloaded plugin's first caller started), which misleads `ps` and `perf`.
        thread.name = "sandboxer-call"
        thread.start()
    }

    private struct Job: Sendable {
        let body: @Sendable () -> Void
        let done: DispatchSemaphore
    }

    private func serve(_ first: Job) {
        var job: Job? = first
        while let current = job {
            current.body()
            condition.withLock { parked += 1 }
            current.done.signal()
            job = condition.withLock {
                defer { parked -= 1 }
                while jobs.isEmpty {
                    // A timed-out wait still takes a job queued for it meanwhile (it was counted as parked).
                    if !condition.wait(seconds: Self.idleSeconds), jobs.isEmpty { return nil }
                }
                return jobs.removeFirst()
            }
        }
    }
}
