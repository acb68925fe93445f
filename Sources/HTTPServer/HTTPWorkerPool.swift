import FoundationEssentials
import Glibc
import Basics

/// A fixed set of threads that run handlers. Handlers may block for minutes (a long exec), so they
/// never run on the event loop; with every worker busy, further requests wait in the queue while the
/// loop keeps accepting, reading and timing out connections.
final class HTTPWorkerPool: Sendable {
    private struct State {
        var jobs: [@Sendable () -> Void] = []
        var head = 0
        var stopping = false
    }

    // NSCondition is Sendable in swift-corelibs-foundation; `state` is only touched while it is held.
    private let condition = Condition()
    nonisolated(unsafe) private var state = State()  // guarded by `condition` (reason: NSCondition has no payload)

    init(threads: Int, name: String = "http-worker") {
        for index in 0..<max(1, threads) {
            let thread = PosixThread { [self] in run() }
            thread.name = "\(name)-\(index)"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Queues `job`; it runs on the next free worker. Ignored after `stop()`.
    func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        defer { condition.unlock() }
        guard !state.stopping else { return }
        state.jobs.append(job)
        condition.signal()
    }

    /// Lets the workers exit once the queue is empty (running jobs finish first).
    func stop() {
        condition.lock()
        state.stopping = true
        condition.broadcast()
        condition.unlock()
    }

    private func run() {
        while let job = next() { job() }
    }

    private func next() -> (@Sendable () -> Void)? {
        condition.lock()
        defer { condition.unlock() }
        while state.head == state.jobs.count {
            if state.stopping { return nil }
            condition.wait()
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
