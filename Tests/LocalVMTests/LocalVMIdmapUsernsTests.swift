import CLocalVM
import Foundation
import Glibc
import Testing
@testable import LocalVM

/// `clvm_idmap_userns_open` from two threads at once. Each call clones a holder child that waits
/// for EOF on a pipe; the clone copies every fd of the process, so a holder that kept another
/// thread's write end made the two wait for each other for ever (a hung parallel test run: two
/// holders blocked in read, each holding the other's write end). Now a holder keeps only its read
/// end; before that, this test hung (now it fails after 60 s instead of stalling the run).
@Suite("LocalVM idmap user namespaces made concurrently", .enabled(if: getuid() == 0, "needs root (user namespaces with arbitrary maps)"))
struct LocalVMIdmapUsernsTests {
    @Test("two threads making user namespaces at once both finish, every round")
    func concurrentHolders() throws {
        for round in 0..<40 {
            // Both threads start their call when the other is ready too (a handshake, no sleep).
            let start = DispatchSemaphore(value: 0), ready = DispatchSemaphore(value: 0)
            let group = DispatchGroup()
            let results = Results()
            for i in 0..<2 {
                group.enter()
                Thread.detachNewThread {
                    ready.signal()
                    start.wait()
                    var err = [CChar](repeating: 0, count: 256)
                    let map = "100000 \(2_000_000 + (round * 2 + i) * 65536) 65536\n"
                    results.fds[i] = clvm_idmap_userns_open(map, &err, err.count)
                    group.leave()
                }
            }
            ready.wait(); ready.wait()
            start.signal(); start.signal()
            // A bound on a failure, not a timing claim: each call takes milliseconds, and a hang (the
            // bug this test guards against) must fail the test instead of stalling the whole run.
            guard group.wait(timeout: .now() + 60) == .success else {
                Issue.record("round \(round): clvm_idmap_userns_open did not return within 60 s (two holders waiting for each other?)")
                return
            }
            for i in 0..<2 {
                #expect(results.fds[i] >= 0, "round \(round), thread \(i)")
                if results.fds[i] >= 0 { close(results.fds[i]) }
            }
        }
    }

    /// The two threads' fds. @unchecked Sendable: each thread writes only its own slot of a plain
    /// buffer (no Array, whose copy-on-write check would race), and the test reads them after
    /// `group.wait()`, which orders those writes before the reads.
    final class Results: @unchecked Sendable {
        let fds = UnsafeMutablePointer<Int32>.allocate(capacity: 2)
        init() { fds.initialize(repeating: -1, count: 2) }
        deinit { fds.deallocate() }
    }
}
