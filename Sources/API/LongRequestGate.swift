import FoundationEssentials
import Glibc
import Synchronization

/// Bounds requests that hold an HTTP worker for long (exec): at most `total` at once, and at most
/// `perCaller` for one token, so one consumer cannot take every worker and stall the API for the
/// others. A request over either bound is refused at once with 429 and `Retry-After`, never queued:
/// a queued request would hold its connection and a place in the worker queue all the same.
package final class LongRequestGate: Sendable {
    private struct State {
        var running = 0
        var perCaller: [String: Int] = [:]
    }

    let total: Int
    let perCaller: Int
    private let state = Mutex(State())

    package init(total: Int, perCaller: Int) {
        self.total = max(1, total)
        self.perCaller = max(1, perCaller)
    }

    /// A place held by one request; `leave()` gives it back (once, however often it is called).
    final class Place: Sendable {
        private let release: @Sendable () -> Void
        private let left = Atomic<Bool>(false)
        init(_ release: @escaping @Sendable () -> Void) { self.release = release }
        func leave() {
            if !left.exchange(true, ordering: .acquiringAndReleasing) { release() }
        }
    }

    /// Takes a place for `caller`, or throws 429 when none is free.
    func enter(caller: String) throws(APIError) -> Place {
        let refusal: String? = state.withLock { s in
            if s.running >= total { return "The server is running \(total) long requests (exec) already; try again shortly." }
            if s.perCaller[caller, default: 0] >= perCaller {
                return "This token has \(perCaller) long requests (exec) running already; wait for one to finish."
            }
            s.running += 1
            s.perCaller[caller, default: 0] += 1
            return nil
        }
        if let refusal {
            var error = APIError(429, "too_many_requests", refusal)
            error.headers = [("Retry-After", "1")]
            throw error
        }
        return Place { [self] in
            state.withLock { s in
                s.running -= 1
                let left = s.perCaller[caller, default: 1] - 1
                s.perCaller[caller] = left > 0 ? left : nil
            }
        }
    }

    /// Runs `body` holding a place for `caller`, or throws 429 when none is free.
    func run<T>(caller: String, _ body: () throws(APIError) -> T) throws(APIError) -> T {
        let place = try enter(caller: caller)
        defer { place.leave() }
        return try body()
    }

    /// Requests holding a place now (for tests and metrics).
    var running: Int { state.withLock { $0.running } }
}
