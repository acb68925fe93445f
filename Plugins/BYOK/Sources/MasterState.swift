import Foundation

/// The state of one host's ControlMaster as a value: events in, the action for the owner out.
/// `ControlMaster` does the I/O (spawning ssh, waiting for it) and feeds the events here.
struct MasterState: Sendable, Equatable {
    enum Phase: Sendable, Equatable { case idle, starting, up, down }
    enum Action: Sendable, Equatable {
        case none
        /// Start `ssh -MNT` now.
        case spawn
        /// Start it again at this time (the backoff after a loss or a failed attempt).
        case spawnAt(Date)
    }

    private(set) var phase = Phase.idle
    /// Failed or lost connections since the last one that came up.
    private(set) var failures = 0
    /// When the next attempt may start.
    private(set) var retryAt: Date?
    /// What the last master said before it ended (ssh's stderr, one line).
    private(set) var lastError: String?

    /// A call needs the master: start it unless it runs or its backoff has not passed.
    mutating func wanted(now: Date) -> Action {
        switch phase {
        case .up, .starting: return .none
        case .idle:
            phase = .starting
            return .spawn
        case .down:
            if let retryAt, retryAt > now { return .none }
            phase = .starting
            return .spawn
        }
    }

    /// The control socket answered: connected.
    mutating func connected() {
        phase = .up
        failures = 0
        retryAt = nil
        lastError = nil
    }

    /// The master process ended (lost, refused, or never connected): down until the backoff passes,
    /// then started again.
    mutating func exited(now: Date, message: String?) -> Action {
        phase = .down
        failures += 1
        lastError = message
        let at = now.addingTimeInterval(Self.backoff(failures: failures))
        retryAt = at
        return .spawnAt(at)
    }

    /// The backoff trigger fired: start again unless something else already did.
    mutating func retryDue(now: Date) -> Action {
        guard phase == .down, let retryAt, retryAt <= now else { return .none }
        phase = .starting
        return .spawn
    }

    /// 0.5 s after the first failure, doubling, at most 30 s.
    static func backoff(failures: Int) -> TimeInterval {
        min(30, 0.5 * pow(2, Double(max(0, min(failures - 1, 10)))))
    }
}
