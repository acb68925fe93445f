import Glibc

/// How a child is stopped: signals sent in order, each followed by a grace period in which it may
/// exit; the last step's grace is how long to wait after it (SIGKILL's wait is unbounded).
public struct TeardownSequence: Sendable, Equatable {
    public struct Step: Sendable, Equatable {
        public var signal: Int32
        /// Seconds to wait for the child to exit after this signal; nil waits as long as it takes.
        public var grace: Double?
        public init(signal: Int32, grace: Double?) { self.signal = signal; self.grace = grace }
    }

    public var steps: [Step]
    /// Send the signals to the child's process group (it was started with `newProcessGroup`).
    public var toProcessGroup: Bool

    public init(_ steps: [Step], toProcessGroup: Bool = false) {
        self.steps = steps
        self.toProcessGroup = toProcessGroup
    }

    /// SIGTERM, `grace` seconds, then SIGKILL.
    public static func termThenKill(grace: Double = 3, toProcessGroup: Bool = false) -> TeardownSequence {
        TeardownSequence([Step(signal: SIGTERM, grace: grace), Step(signal: SIGKILL, grace: nil)],
                         toProcessGroup: toProcessGroup)
    }
}
