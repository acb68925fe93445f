import Dispatch
import FoundationEssentials
import Glibc
import Basics
import Synchronization

/// The runner's threads for plugin calls: each call runs on its own thread, as in process, but
/// threads are reused: a new one starts only when every thread is busy.
final class RunnerWorkerPool: Sendable {
    private struct Queue {
        var jobs: [@Sendable () -> Void] = []
        var idle = 0
    }
    private let queue = Mutex(Queue())
    private let wake = DispatchSemaphore(value: 0)

    /// Runs `job` on an idle thread, or a new one.
    func submit(_ job: @escaping @Sendable () -> Void) {
        let wakeOne = queue.withLock { q in
            q.jobs.append(job)
            guard q.idle > 0 else { return false }
            q.idle -= 1
            return true
        }
        if wakeOne {
            wake.signal()
        } else {
            let thread = PosixThread { [self] in work() }
            // Plugins may recurse deeply (JSON, Swift runtime): give them the usual 8 MiB.
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    private func work() {
        while true {
            let job = queue.withLock { q -> (@Sendable () -> Void)? in
                if q.jobs.isEmpty {
                    q.idle += 1
                    return nil
                }
                return q.jobs.removeFirst()
            }
            if let job { job() } else { wake.wait() }
        }
    }
}
