import Glibc

/// How a child ended: its exit code, or the signal that killed it.
public enum ExitStatus: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signalled(Int32)

    /// Decodes a waitpid status.
    public init(waitStatus status: Int32) {
        let signal = status & 0x7f
        self = signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
    }

    /// The shell's number: the exit code, or 128 + the signal.
    public var code: Int32 {
        switch self {
        case .exited(let code): code
        case .signalled(let signal): 128 + signal
        }
    }

    /// True for exit code 0.
    public var succeeded: Bool { self == .exited(0) }

    /// "exited with 2", "was killed by signal 9".
    public var description: String {
        switch self {
        case .exited(let code): "exited with \(code)"
        case .signalled(let signal): "was killed by signal \(signal)"
        }
    }
}
