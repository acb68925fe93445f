import FoundationEssentials
import Basics
import Glibc
import Core

/// How the host runs plugins out of process: which executable is the runner, how long a cancelled
/// call may take to return before its runner is killed, the teardown, the restart backoff, and the
/// clock that drives the backoff (tests pass their own).
public struct PluginRunnerSettings: Sendable {
    /// The `sandboxer` executable started as `sandboxer __plugin-runner`; nil: none could be found.
    public var executable: String?
    /// Seconds a call past its deadline (cancelled) may take to return before its runner is killed.
    public var cancelGrace: Double = 2
    /// Seconds a runner may take to exit after SIGTERM before SIGKILL.
    public var terminateGrace: Double = 2
    /// Seconds outstanding calls may take to return after they were cancelled at shutdown.
    public var shutdownGrace: Double = 2
    /// The backoff between restarts of a runner that keeps dying.
    public var restartInitialDelay = 0.5
    public var restartMaxDelay = 30.0
    public var restartResetAfter = 60.0
    /// A monotonic clock in seconds, for the restart backoff.
    public var clock: @Sendable () -> Double = { RunnerClock.monotonicSeconds() }

    public init(executable: String? = PluginRunnerSettings.defaultExecutable) {
        self.executable = executable
    }

    /// The running executable when it is `sandboxer`, else a `sandboxer` next to it (a test binary
    /// in SwiftPM's products directory), else nil.
    public static let defaultExecutable: String? = {
        guard let exe = PluginIsolation.runningExecutable else { return nil }
        if (exe).lastPathComponent == "sandboxer" { return exe }
        let sibling = ((exe).deletingLastPathComponent).appendingPathComponent("sandboxer")
        return access(sibling, X_OK) == 0 ? sibling : nil
    }()

    var restartPolicy: RunnerRestartPolicy {
        RunnerRestartPolicy(initialDelay: restartInitialDelay, maxDelay: restartMaxDelay, resetAfter: restartResetAfter)
    }
}

/// CLOCK_MONOTONIC in seconds.
public enum RunnerClock {
    public static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
