import FoundationEssentials
import Glibc
import Basics

/// A bounded set of threads that run handlers. Handlers may block for minutes (a long exec), so they
/// never run on the event loop; with every worker busy, further requests wait in the queue while the
/// loop keeps accepting, reading and timing out connections.
///
/// Threads start on demand, up to `threads`: a job that finds no idle worker starts one. An idle
/// server holds none (each started thread keeps its stack pages and a malloc arena resident for
/// good, docs/performance.md "serve's memory"), and one that only ever serves one request at a time
/// holds one.
final class HTTPWorkerPool: Sendable {
    private struct State {
        var jobs: [@Sendable () -> Void] = []
        var head = 0
        var stopping = false
        /// Threads started so far; never above `limit`, never stopped before `stop()`.
        var started = 0
        /// Threads waiting in `next()` for a job (a signalled one counts until it wakes).
        var idle = 0
    }

    // `state` is only touched while `condition` is held.
    private let condition = Condition()
    nonisolated(unsafe) private var state = State()  // guarded by `condition` (reason: Condition has no payload)
    private let limit: Int
    private let name: String

    init(threads: Int, name: String = "http-worker") {
        limit = max(1, threads)
        self.name = name
    }

    /// Threads started so far (for tests and the memory bench): 0 until the first job.
    var startedThreads: Int {
        condition.lock()
        defer { condition.unlock() }
        return state.started
    }

    /// Queues `job`; it runs on the next free worker, started for it if none is idle and the pool
    /// is below its size. Ignored after `stop()`.
    func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        guard !state.stopping else {
            condition.unlock()
            return
        }
        state.jobs.append(job)
        var startIndex: Int? = nil
        if state.jobs.count - state.head > state.idle, state.started < limit {
            startIndex = state.started
            state.started += 1
        }
        condition.signal()
        condition.unlock()
        if let startIndex { startThread(startIndex) }
    }

    /// Lets the workers exit once the queue is empty (running jobs finish first).
    func stop() {
        condition.lock()
        state.stopping = true
        condition.broadcast()
        condition.unlock()
    }

    private func startThread(_ index: Int) {
        let thread = PosixThread { [self] in run() }
        thread.name = "\(name)-\(index)"
        thread.stackSize = 1 << 20
        thread.start()
    }

    private func run() {
        while let job = next() { job() }
    }

    private func next() -> (@Sendable () -> Void)? {
        condition.lock()
        defer { condition.unlock() }
        while state.head == state.jobs.count {
            if state.stopping { return nil }
            state.idle += 1
            condition.wait()
            state.idle -= 1
        }
        let job = state.jobs[state.head]
        state.head += 1
        if state.head > 1024, state.head * 2 > state.jobs.count {
            state.jobs.removeFirst(state.head)
            state.head = 0
        }
        return job
    }
}
