import Foundation
import Testing
@testable import HTTPServer

/// The worker pool starts its threads on demand: none while idle, one per job that finds no idle
/// worker, never more than its size; a queued job still runs once a worker frees up.
/// (That a job reuses an idle worker is not asserted: knowing a worker is back in its wait needs a
/// hook in the hot path or a sleep; the bench counts serve's threads instead, bench/rss.sh.)
@Suite("HTTP worker pool")
struct HTTPWorkerPoolTests {
    /// A job that says when it started and then blocks until the test releases it.
    final class Gate: Sendable {
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        func job() -> @Sendable () -> Void {
            { [self] in
                started.signal()
                release.wait()
                finished.signal()
            }
        }
        /// Waits for `n` signals on `semaphore`; false after a generous bound (a hung pool).
        static func await(_ semaphore: DispatchSemaphore, _ n: Int) -> Bool {
            (0..<n).allSatisfy { _ in semaphore.wait(timeout: .now() + 60) == .success }
        }
    }

    @Test func noThreadStartsUntilTheFirstJob() {
        let pool = HTTPWorkerPool(threads: 8)
        defer { pool.stop() }
        #expect(pool.startedThreads == 0)
        let gate = Gate()
        pool.submit(gate.job())
        #expect(Gate.await(gate.started, 1))
        #expect(pool.startedThreads == 1)
        gate.release.signal()
        #expect(Gate.await(gate.finished, 1))
    }

    @Test func concurrentJobsStartWorkersUpToTheLimitAndQueueTheRest() {
        let pool = HTTPWorkerPool(threads: 3)
        defer { pool.stop() }
        let gate = Gate()
        for _ in 0..<3 { pool.submit(gate.job()) }
        #expect(Gate.await(gate.started, 3))  // three blocked jobs at once: three workers
        #expect(pool.startedThreads == 3)
        let fourth = DispatchSemaphore(value: 0)
        pool.submit { fourth.signal() }
        #expect(pool.startedThreads == 3)  // at the limit: queued, no fourth thread
        #expect(fourth.wait(timeout: .now()) == .timedOut)
        gate.release.signal()  // one worker frees up and takes the queued job
        #expect(fourth.wait(timeout: .now() + 60) == .success)
        for _ in 0..<2 { gate.release.signal() }
        #expect(Gate.await(gate.finished, 3))
        #expect(pool.startedThreads == 3)
    }

    @Test func jobsAfterStopAreIgnoredAndStartNoThread() {
        let pool = HTTPWorkerPool(threads: 4)
        pool.stop()
        let ran = DispatchSemaphore(value: 0)
        pool.submit { ran.signal() }
        #expect(pool.startedThreads == 0)  // so nothing could ever run it
        #expect(ran.wait(timeout: .now()) == .timedOut)
    }
}
