import FoundationEssentials
import Glibc

// The messages of capability `sandboxer.exec-stream/1`: a command whose output is read while it runs.
// `exec_start` answers a handle; the host then reads each output stream by offset (`exec_read`),
// feeds standard input (`exec_write`), waits for the exit (`exec_wait`), signals (`exec_kill`) and
// finally releases the handle (`exec_release`). The plugin keeps a bounded window of unread output
// per stream: when the host does not read, the command blocks on its full pipe (back-pressure)
// instead of the plugin buffering without bound.

extension Capability {
    /// `exec_start`, `exec_read`, `exec_write`, `exec_wait`, `exec_kill`, `exec_release`.
    public static let execStream = "sandboxer.exec-stream/1"
}

extension Operation {
    public static let execStart = "exec_start"
    public static let execRead = "exec_read"
    public static let execWrite = "exec_write"
    public static let execWait = "exec_wait"
    public static let execKill = "exec_kill"
    public static let execRelease = "exec_release"
    /// Every operation of `sandboxer.exec-stream/1`.
    public static let execStreamOperations = [execStart, execRead, execWrite, execWait, execKill, execRelease]
}

/// Limits of `sandboxer.exec-stream/1` that both sides rely on.
public enum ExecStreamLimits {
    /// The most bytes one `exec_read` answers; a larger `max_bytes` is served as this many.
    public static let maxReadBytes = 1 << 20
    /// The longest `wait_ms` a plugin honours; a larger one is served as this many.
    public static let maxWaitMs = 30_000
    /// The most bytes one `exec_write` carries (decoded).
    public static let maxWriteBytes = 1 << 20
}

/// `exec_start` request: like `exec`, without the stdin bytes; `stdin` says whether the command's
/// standard input is a pipe the host writes (`exec_write`) or /dev/null.
public struct ExecStartRequest: Codable, Sendable, Equatable {
    public var sandboxId: String
    public var backendRef: String
    public var argv: [String]
    public var env: [String: String]
    /// True: standard input is fed by `exec_write` until it is closed; false or absent: /dev/null.
    public var stdin: Bool?
    /// Seconds before the plugin kills the command (its process group); nil for none.
    public var timeoutSeconds: Int64?
    public init(sandboxId: String, backendRef: String, argv: [String], env: [String: String] = [:],
                stdin: Bool? = nil, timeoutSeconds: Int64? = nil) {
        self.sandboxId = sandboxId; self.backendRef = backendRef; self.argv = argv; self.env = env
        self.stdin = stdin; self.timeoutSeconds = timeoutSeconds
    }
    enum CodingKeys: String, CodingKey {
        case sandboxId = "sandbox_id", backendRef = "backend_ref", argv, env, stdin, timeoutSeconds = "timeout_seconds"
    }
}

/// `exec_start` response: the plugin's opaque handle for the running command.
public struct ExecStartResponse: Codable, Sendable, Equatable {
    public var handle: String
    public init(handle: String) { self.handle = handle }
}

/// Names one running (or finished, unreleased) command: the request of `exec_kill`'s peers.
public struct ExecHandleRef: Codable, Sendable, Equatable {
    public var sandboxId: String
    public var handle: String
    public init(sandboxId: String, handle: String) { self.sandboxId = sandboxId; self.handle = handle }
    enum CodingKeys: String, CodingKey { case sandboxId = "sandbox_id", handle }
}

/// `exec_read` request: bytes of one stream from `offset` on. Reading at `offset` acknowledges
/// everything before it, which the plugin may then discard; an offset before what it still holds
/// answers INVALID_REQUEST.
public struct ExecReadRequest: Codable, Sendable, Equatable {
    public var sandboxId: String
    public var handle: String
    /// "stdout" or "stderr".
    public var stream: String
    public var offset: Int64
    public var maxBytes: Int
    /// How long to wait for the first byte (or end of stream) when none is ready; 0: do not wait.
    public var waitMs: Int
    public init(sandboxId: String, handle: String, stream: String, offset: Int64, maxBytes: Int, waitMs: Int) {
        self.sandboxId = sandboxId; self.handle = handle; self.stream = stream; self.offset = offset
        self.maxBytes = maxBytes; self.waitMs = waitMs
    }
    enum CodingKeys: String, CodingKey {
        case sandboxId = "sandbox_id", handle, stream, offset, maxBytes = "max_bytes", waitMs = "wait_ms"
    }
}

/// `exec_read` response: `data_b64` holds the bytes at the request's offset (possibly none, when the
/// wait ran out); `eof` is true once every byte of the stream has been answered.
public struct ExecReadResponse: Codable, Sendable, Equatable {
    public var dataB64: String
    public var eof: Bool
    /// `offset` plus the bytes answered: the offset of the next read.
    public var nextOffset: Int64
    public init(data: Data, eof: Bool, nextOffset: Int64) {
        self.dataB64 = data.base64EncodedString(); self.eof = eof; self.nextOffset = nextOffset
    }
    public var data: Data? { Data(base64Encoded: dataB64) }
    enum CodingKeys: String, CodingKey { case dataB64 = "data_b64", eof, nextOffset = "next_offset" }
}

/// `exec_write` request: bytes for the command's standard input and/or closing it.
public struct ExecWriteRequest: Codable, Sendable, Equatable {
    public var sandboxId: String
    public var handle: String
    public var dataB64: String?
    /// True: close standard input after these bytes (the command sees end of file).
    public var close: Bool?
    /// How long to wait for room in the pipe before answering with fewer bytes accepted.
    public var waitMs: Int?
    public init(sandboxId: String, handle: String, data: Data? = nil, close: Bool? = nil, waitMs: Int? = nil) {
        self.sandboxId = sandboxId; self.handle = handle; self.dataB64 = data?.base64EncodedString()
        self.close = close; self.waitMs = waitMs
    }
    enum CodingKeys: String, CodingKey { case sandboxId = "sandbox_id", handle, dataB64 = "data_b64", close, waitMs = "wait_ms" }
}

/// `exec_write` response: how many of the bytes the command's pipe took (the rest is sent again);
/// `closed` is true when standard input is closed (asked for, or the command closed its end).
public struct ExecWriteResponse: Codable, Sendable, Equatable {
    public var accepted: Int
    public var closed: Bool
    public init(accepted: Int, closed: Bool) { self.accepted = accepted; self.closed = closed }
}

/// `exec_wait` request: wait at most `wait_ms` for the command to end.
public struct ExecWaitRequest: Codable, Sendable, Equatable {
    public var sandboxId: String
    public var handle: String
    public var waitMs: Int
    public init(sandboxId: String, handle: String, waitMs: Int) {
        self.sandboxId = sandboxId; self.handle = handle; self.waitMs = waitMs
    }
    enum CodingKeys: String, CodingKey { case sandboxId = "sandbox_id", handle, waitMs = "wait_ms" }
}

/// `exec_wait` response: `running`, or `exited` with the exit code (128 + signal when a signal
/// ended it, `signal` then names it) and whether the plugin's timeout killed it.
public struct ExecWaitResponse: Codable, Sendable, Equatable {
    /// "running" or "exited".
    public var state: String
    public var exitCode: Int32?
    public var signal: Int32?
    public var timedOut: Bool?
    public init(state: String, exitCode: Int32? = nil, signal: Int32? = nil, timedOut: Bool? = nil) {
        self.state = state; self.exitCode = exitCode; self.signal = signal; self.timedOut = timedOut
    }
    public static let running = "running"
    public static let exited = "exited"
    enum CodingKeys: String, CodingKey { case state, exitCode = "exit_code", signal, timedOut = "timed_out" }
}

/// `exec_kill` request: send `signal` (a Linux signal number) to the command's process group.
public struct ExecKillRequest: Codable, Sendable, Equatable {
    public var sandboxId: String
    public var handle: String
    public var signal: Int32
    public init(sandboxId: String, handle: String, signal: Int32) {
        self.sandboxId = sandboxId; self.handle = handle; self.signal = signal
    }
    enum CodingKeys: String, CodingKey { case sandboxId = "sandbox_id", handle, signal }
}
