import Glibc

/// How a runner is stopped, step by step (after swift-subprocess's `TeardownStep`): each step sends
/// a signal and allows the process some time to exit before the next; the last step is always
/// SIGKILL, which cannot be refused.
struct RunnerTeardown: Sendable, Equatable {
    struct Step: Sendable, Equatable {
        var signal: Int32
        /// Seconds the process may take to exit after this signal before the next step.
        var allowed: Double
    }

    var steps: [Step]

    /// SIGTERM, `grace` seconds to exit, then SIGKILL.
    static func gracefulShutDown(allowed grace: Double) -> RunnerTeardown {
        RunnerTeardown(steps: [Step(signal: SIGTERM, allowed: grace), Step(signal: SIGKILL, allowed: .infinity)])
    }

    /// Runs the steps: `signal` sends one to the process, `waitExit(seconds)` returns true once it is
    /// gone. With no steps left the process is dead (SIGKILL) or the wait was endless.
    func run(pid: pid_t, signal: (Int32) -> Void, waitExit: (Double) -> Bool) {
        for step in steps {
            signal(step.signal)
            if waitExit(step.allowed) { return }
        }
    }
}
