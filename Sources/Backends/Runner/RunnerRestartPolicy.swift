/// When a plugin runner may be started again after it died: a state machine driven by the caller's
/// clock (seconds on any monotonic scale), so tests step through it without waiting.
///
/// The first death restarts at the next call; each further death in a row doubles the wait, from
/// `initialDelay` up to `maxDelay`. A runner that stayed up `resetAfter` seconds (or answered a
/// call) resets the count. While waiting, calls are refused at once with the time left.
struct RunnerRestartPolicy: Sendable, Equatable {
    var initialDelay = 0.5
    var maxDelay = 30.0
    var resetAfter = 60.0

    enum Phase: Sendable, Equatable {
        /// No runner; the next call starts one.
        case idle
        /// A runner is up since this time.
        case running(since: Double)
        /// The runner died; none is started before this time.
        case waiting(until: Double)
        /// The host stopped the backend for good (shutdown).
        case stopped
    }

    /// What the owner does for a call that needs a runner.
    enum Action: Sendable, Equatable {
        /// Use the running runner.
        case use
        /// Start a runner (then report `started` or `died`).
        case start
        /// Fail the call as unavailable: the runner restarts in this many seconds.
        case refuse(retryIn: Double)
        /// Fail the call: the backend was stopped.
        case stopped
    }

    private(set) var phase = Phase.idle
    /// Deaths since the runner last proved healthy.
    private(set) var failures = 0

    init(initialDelay: Double = 0.5, maxDelay: Double = 30, resetAfter: Double = 60) {
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.resetAfter = resetAfter
    }

    /// A call needs the runner at `now`.
    mutating func callArrived(now: Double) -> Action {
        switch phase {
        case .running: return .use
        case .idle: return .start
        case .stopped: return .stopped
        case .waiting(let until):
            if now >= until { return .start }
            return .refuse(retryIn: until - now)
        }
    }

    /// The runner started (its hello was answered) at `now`.
    mutating func started(now: Double) {
        if phase != .stopped { phase = .running(since: now) }
    }

    /// A call got its answer: the runner works, so earlier deaths no longer count.
    mutating func answered() {
        failures = 0
    }

    /// The runner died (crash, kill after a deadline, failed start) at `now`; returns the wait before
    /// the next start.
    @discardableResult
    mutating func died(now: Double) -> Double {
        if case .stopped = phase { return 0 }
        if case .running(let since) = phase, now - since >= resetAfter { failures = 0 }
        failures += 1
        let delay = failures <= 1 ? 0 : min(maxDelay, initialDelay * pow2(failures - 2))
        phase = delay > 0 ? .waiting(until: now + delay) : .idle
        return delay
    }

    /// The host stops the backend: no runner is started again.
    mutating func stop() {
        phase = .stopped
    }

    private func pow2(_ n: Int) -> Double {
        var x = 1.0
        for _ in 0..<min(n, 62) { x *= 2 }
        return x
    }
}
