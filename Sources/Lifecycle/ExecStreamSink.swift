import FoundationEssentials
import Glibc
import Synchronization

/// One output stream of a command.
public enum ExecOutputStream: String, Sendable {
    case stdout, stderr
}

/// Where a streamed exec's output goes, and how the service learns that nobody listens any more.
/// Calls are serialised by the service (never two at once), in the order the bytes were read per
/// stream; a call may block (that is the back-pressure that keeps the host's memory bounded).
public struct ExecStreamSink: Sendable {
    /// Delivers bytes of one stream; false when the receiver is gone (the command is then killed).
    public var output: @Sendable (ExecOutputStream, Data) -> Bool
    /// Called after `heartbeatSeconds` without output; false when the receiver is gone.
    public var heartbeat: @Sendable () -> Bool
    /// Seconds of silence between heartbeats; nil: no heartbeats.
    public var heartbeatSeconds: Double?
    /// True once the receiver is gone (checked between waits, so a silent command is noticed too).
    public var isCancelled: @Sendable () -> Bool

    public init(output: @escaping @Sendable (ExecOutputStream, Data) -> Bool,
                heartbeat: @escaping @Sendable () -> Bool = { true }, heartbeatSeconds: Double? = nil,
                isCancelled: @escaping @Sendable () -> Bool = { false }) {
        self.output = output; self.heartbeat = heartbeat; self.heartbeatSeconds = heartbeatSeconds
        self.isCancelled = isCancelled
    }
}

/// Standard input of a streamed exec.
public enum ExecStreamInput: Sendable {
    /// /dev/null.
    case none
    /// These bytes, then end of file.
    case bytes(Data)
    /// Chunks from `next` (blocking) until it answers nil (end of file).
    case reader(@Sendable () -> Data?)
}

/// Lets the caller signal a streamed command while it runs (the CLI forwards Ctrl-C as a kill).
public final class ExecStreamControl: Sendable {
    private let pending = Mutex<[Int32]>([])
    private let running = Atomic<Bool>(false)
    public init() {}
    /// True while a streamed command runs under this control (a signal then reaches it).
    public var isRunning: Bool { running.load(ordering: .acquiring) }
    func setRunning(_ value: Bool) { running.store(value, ordering: .releasing) }
    /// Asks for `signal` to be sent to the command (at the service's next turn, within a second).
    public func signal(_ signal: Int32) { pending.withLock { $0.append(signal) } }
    func take() -> [Int32] { pending.withLock { let all = $0; $0 = []; return all } }
}

/// How a streamed command ended.
public struct ExecStreamOutcome: Sendable, Equatable {
    /// The exit status, or 128 + the signal's number when a signal ended it.
    public var exitCode: Int32
    /// The signal that ended it, if one did.
    public var signal: Int32?
    /// True when its timeout killed it.
    public var timedOut: Bool
    /// Bytes delivered per stream.
    public var stdoutBytes: Int64
    public var stderrBytes: Int64
}
