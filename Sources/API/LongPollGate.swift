import FoundationEssentials
import Glibc
import HTTPServer
import YAMLSubset
import Lifecycle
import Webhooks
import Store
import Config
import Core
import Backends
import Basics
import PluginProtocol

/// Bounds long-polling (`GET /v1/events?wait=…`): a waiting request holds an HTTP worker thread, so
/// at most `limit` requests wait at once and the rest of the pool stays free for other work. A
/// request over the limit is answered at once, as if it had not asked to wait. `close()` (server
/// shutdown) ends every wait, so shutdown never waits for a long poll.
package final class LongPollGate: Sendable {
    private struct State {
        var waiting = 0
        var closed = false
    }

    /// How many requests may wait at once.
    let limit: Int
    /// How often a waiting request looks for new events (each look is one indexed `seq > ?` query).
    let interval: Double

    // Condition carries no value; `state` is only read or written while it is held.
    private let condition = Condition()
    nonisolated(unsafe) private var state = State()  // guarded by `condition` (reason: Condition has no payload)

    package init(limit: Int = 2, interval: Double = 0.2) {
        self.limit = limit
        self.interval = interval
    }

    /// Calls `ready` until it returns true, `seconds` have passed, or the gate closes; between calls
    /// it sleeps `interval`. Returns at once (without calling `ready`) when `limit` requests are
    /// already waiting or the gate is closed. Errors from `ready` end the wait and are rethrown.
    func wait<E: Error>(seconds: Double, until ready: () throws(E) -> Bool) throws(E) {
        guard seconds > 0, enter() else { return }
        defer { leave() }
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if try ready() { return }
            let now = Date()
            guard now < deadline, sleep(until: min(deadline, now.addingTimeInterval(interval))) else { return }
        }
    }

    /// Ends every wait now and refuses new ones.
    package func close() {
        condition.lock()
        state.closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Blocks until at least `count` requests are waiting, or `timeout` seconds pass; true if they are.
    /// A handshake for tests: they act only once the request under test is really waiting.
    func waitForWaiters(_ count: Int, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while state.waiting < count {
            if !condition.wait(until: deadline) { return state.waiting >= count }
        }
        return true
    }

    private func enter() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !state.closed, state.waiting < limit else { return false }
        state.waiting += 1
        condition.broadcast()  // wakes `waitForWaiters`
        return true
    }

    private func leave() {
        condition.lock()
        state.waiting -= 1
        condition.unlock()
    }

    /// Sleeps until `date` unless the gate closes first; false once it is closed.
    private func sleep(until date: Date) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !state.closed {
            if !condition.wait(until: date) { break }
        }
        return !state.closed
    }
}
