import Dispatch
import FoundationEssentials
import Glibc
import Basics
import Core
import Backends
import PluginProtocol
import Synchronization

// Streamed exec (`sandboxer.exec-stream/1`): the command's output goes to a sink as it is read, in
// chunks of at most `ExecStreamLimits.maxReadBytes`, and the next chunk is read only once the sink
// took the last one: the host holds a bounded amount whatever the command prints. Authorisation and
// races are those of whole-buffer exec: only a live sandbox runs commands (409 otherwise), and a
// destroy that takes the sandbox away mid-command is a conflict, not a backend fault.
extension SandboxService {
    /// Whether the sandbox's backend streams exec output (else callers fall back to `exec`).
    public func supportsStreamedExec(_ id: String) throws(SandboxerError) -> Bool {
        let sandbox = try get(id)
        let backend = try backends.backend(named: sandbox.backend)
        return backend is any ExecStreamBackend && backend.supports(Capability.execStream)
    }

    /// Runs `argv` in the sandbox, delivering output to `sink` as it arrives; returns how it ended.
    public func execStream(_ id: String, argv: [String], env: [String: String] = [:], timeoutSeconds: Int64? = nil,
                           stdin: ExecStreamInput = .none, sink: ExecStreamSink,
                           control: ExecStreamControl? = nil) throws(SandboxerError) -> ExecStreamOutcome {
        guard !argv.isEmpty else { throw SandboxerError(.usage, "exec needs a command to run.") }
        let sandbox = try get(id)
        let found = try backends.backend(named: sandbox.backend)
        guard let backend = found as? any ExecStreamBackend, found.supports(Capability.execStream) else {
            throw SandboxerError(.backend, "Backend \(sandbox.backend) does not stream exec output (\(Capability.execStream)).")
        }
        try beginActivity(sandbox)
        defer { endActivity(id) }
        var hasStdin = false
        if case .none = stdin {} else { hasStdin = true }
        let result: Result<ExecStreamOutcome, BackendError>
        store.checkpointAside()   // the log's checkpoint, if due, runs while the command does
        do {
            let start = try backend.execStart(
                ExecStartRequest(sandboxId: id, backendRef: sandbox.backendRef ?? id, argv: argv, env: env,
                                 stdin: hasStdin, timeoutSeconds: execTimeout(for: sandbox, requested: timeoutSeconds)),
                timeout: backends.timeouts.other)
            let run = ExecStreamRun(backend: backend, ref: ExecHandleRef(sandboxId: id, handle: start.handle),
                                    sink: sink, control: control, callTimeout: backends.timeouts.other)
            result = run.drive(stdin: stdin)
        } catch {
            result = .failure(error)
        }
        switch result {
        case .success(let outcome): return outcome
        case .failure(let error):
            if let current = try? get(id), !SandboxState.live.contains(current.state) {
                throw SandboxerError(.conflict, "Sandbox \(id) was \(current.state == .destroying ? "being destroyed" : "ended (\(current.state.rawValue))") "
                                     + "while the command ran, so the command did not finish; the backend said: \(error.hostError.message)")
            }
            throw error.hostError
        }
    }
}

/// One streamed command from start to release. The caller's thread first reads both output streams
/// itself while each round brings bytes or an end (`readInline`): a command that ends at once (most
/// do) costs no thread of its own. Once a round brings nothing, the command is taken to run on: each
/// stream still open gets a reader thread (so neither waits for the other), standard input a writer
/// thread, and the caller's thread waits for the exit, sending heartbeats and signals.
final class ExecStreamRun: Sendable {
    let backend: any ExecStreamBackend
    let ref: ExecHandleRef
    let sink: ExecStreamSink
    let control: ExecStreamControl?
    let callTimeout: Double

    /// How long each read and wait may block in the plugin (also how often cancellation is checked).
    static let pollMs = 500
    /// Bytes asked for per read: a quarter of what a plugin may answer, so the copies one chunk makes on
    /// its way through the host (JSON, base64, the front's framing) stay a few megabytes.
    static let readBytes = 256 << 10
    /// How long an inline read waits for the first open stream: the most the other stream's bytes wait
    /// behind it, and how long a command may stay silent before it gets reader threads.
    static let inlineWaitMs = 50

    private struct Shared {
        var cancelled = false
        var failure: BackendError?
        var lastOutput = Date()
        var bytes: [ExecOutputStream: Int64] = [.stdout: 0, .stderr: 0]
    }
    private let shared = Mutex(Shared())
    /// Serialises sink calls.
    private let sinkLock = Mutex(())

    init(backend: any ExecStreamBackend, ref: ExecHandleRef, sink: ExecStreamSink, control: ExecStreamControl?,
         callTimeout: Double) {
        self.backend = backend; self.ref = ref; self.sink = sink; self.control = control; self.callTimeout = callTimeout
    }

    private var stopped: Bool { shared.withLock { $0.cancelled || $0.failure != nil } }

    private func fail(_ error: BackendError) { shared.withLock { if $0.failure == nil { $0.failure = error } } }

    /// Runs the command to its end (or until the sink is gone); always releases the handle.
    func drive(stdin: ExecStreamInput) -> Result<ExecStreamOutcome, BackendError> {
        control?.setRunning(true)
        defer { control?.setRunning(false) }
        var writer: DispatchSemaphore? = nil
        switch stdin {
        case .none: break
        case .bytes(let data): writer = spawn("exec-stdin") { [self] in feed({ data }, once: true) }
        case .reader(let next): writer = spawn("exec-stdin") { [self] in feed(next, once: false) }
        }
        var killed = false
        /// Kills the command once the receiver is gone or a read failed; forwards the caller's signals.
        func steer() {
            if !killed, stopped || sink.isCancelled() {
                shared.withLock { $0.cancelled = true }
                killed = true
                try? backend.execKill(ExecKillRequest(sandboxId: ref.sandboxId, handle: ref.handle, signal: 9), timeout: callTimeout)
            }
            for signal in control?.take() ?? [] {
                try? backend.execKill(ExecKillRequest(sandboxId: ref.sandboxId, handle: ref.handle, signal: signal), timeout: callTimeout)
            }
        }
        let open = readInline(steer)
        let readers = open.map { stream, offset in
            spawn("exec-\(stream.rawValue)") { [self] in pump(stream, from: offset) }
        }
        var exit: ExecWaitResponse? = nil
        var lastBeat = Date()
        while exit == nil {
            steer()
            do {
                let answer = try backend.execWait(ExecWaitRequest(sandboxId: ref.sandboxId, handle: ref.handle, waitMs: Self.pollMs),
                                                  timeout: callTimeout + Double(Self.pollMs) / 1000)
                if answer.state != ExecWaitResponse.running { exit = answer }
            } catch {
                fail(error)
                if killed { break }
                continue
            }
            if let every = sink.heartbeatSeconds, exit == nil {
                let quiet = shared.withLock { $0.lastOutput }
                if Date().timeIntervalSince(max(quiet, lastBeat)) >= every {
                    lastBeat = Date()
                    let alive = sinkLock.withLock { _ in sink.heartbeat() }
                    if !alive { shared.withLock { $0.cancelled = true } }
                }
            }
        }
        readers.forEach { $0.wait() }
        if let writer {
            // A reader of our own stdin may block forever (a terminal): do not wait for it.
            _ = writer.wait(timeout: .now() + .milliseconds(100))
        }
        try? backend.execRelease(ref, timeout: callTimeout)
        let (failure, bytes) = shared.withLock { ($0.failure, $0.bytes) }
        // A failure of the backend wins over the exit it caused; a receiver that left is not a failure.
        if let failure { return .failure(failure) }
        guard let exit else {
            return .failure(BackendError(.garbage, "The streamed command's end was never reported.", backend: backend.name,
                                         operation: Operation.execWait))
        }
        return .success(ExecStreamOutcome(exitCode: exit.exitCode ?? 255, signal: exit.signal, timedOut: exit.timedOut ?? false,
                                          stdoutBytes: bytes[.stdout] ?? 0, stderrBytes: bytes[.stderr] ?? 0))
    }

    /// Reads both streams on the caller's thread, round after round, while each round brings bytes or
    /// an end: the first open stream waits up to `inlineWaitMs`, the other is only polled. Returns the
    /// streams still open (and their offsets) when a round brought nothing, or when reading stopped
    /// (a failure or a gone receiver: then none, and the wait loop kills the command).
    private func readInline(_ steer: () -> Void) -> [(ExecOutputStream, Int64)] {
        var open: [(ExecOutputStream, Int64)] = [(.stdout, 0), (.stderr, 0)]
        while !open.isEmpty {
            steer()
            if stopped { return [] }
            var progressed = false
            var still: [(ExecOutputStream, Int64)] = []
            for (i, (stream, offset)) in open.enumerated() {
                guard let step = readOnce(stream, at: offset, waitMs: i == 0 ? Self.inlineWaitMs : 0), !stopped else { return [] }
                if step.bytes > 0 || step.eof { progressed = true }
                if !step.eof { still.append((stream, step.offset)) }
            }
            open = still
            if !progressed { break }
        }
        return open
    }

    /// Reads one stream from `offset` to its end, handing each chunk to the sink before asking for the next.
    private func pump(_ stream: ExecOutputStream, from offset: Int64) {
        var offset = offset
        while !stopped {
            guard let step = readOnce(stream, at: offset, waitMs: Self.pollMs) else { return }
            offset = step.offset
            if step.eof { return }
        }
    }

    /// One `exec_read` of `stream` at `offset`, its bytes handed to the sink: the next offset, how many
    /// bytes came and whether the stream ended; nil when reading stopped (a failure is recorded).
    private func readOnce(_ stream: ExecOutputStream, at offset: Int64, waitMs: Int) -> (offset: Int64, bytes: Int, eof: Bool)? {
        let request = ExecReadRequest(sandboxId: ref.sandboxId, handle: ref.handle, stream: stream.rawValue,
                                      offset: offset, maxBytes: Self.readBytes, waitMs: waitMs)
        let answer: ExecReadResponse
        do {
            answer = try backend.execRead(request, timeout: callTimeout + Double(waitMs) / 1000)
        } catch {
            // Once the command was killed for a gone receiver, a failing read is expected.
            if !shared.withLock({ $0.cancelled }) { fail(error) }
            return nil
        }
        let data = answer.data ?? Data()
        if !data.isEmpty, !shared.withLock({ $0.cancelled }) {
            shared.withLock { $0.lastOutput = Date(); $0.bytes[stream, default: 0] += Int64(data.count) }
            let alive = sinkLock.withLock { _ in sink.output(stream, data) }
            if !alive { shared.withLock { $0.cancelled = true } }
        }
        return (answer.nextOffset, data.count, answer.eof)
    }

    /// Writes standard input from `next` until it ends (then closes it) or the command stops taking it.
    private func feed(_ next: @Sendable () -> Data?, once: Bool) {
        var sentOnce = false
        while !stopped {
            let chunk: Data? = once && sentOnce ? nil : next()
            sentOnce = true
            guard var data = chunk, !data.isEmpty else {
                _ = try? backend.execWrite(ExecWriteRequest(sandboxId: ref.sandboxId, handle: ref.handle, close: true),
                                           timeout: callTimeout)
                return
            }
            while !data.isEmpty, !stopped {
                let piece = data.prefix(ExecStreamLimits.maxWriteBytes)
                guard let answer = try? backend.execWrite(
                    ExecWriteRequest(sandboxId: ref.sandboxId, handle: ref.handle, data: Data(piece), waitMs: Self.pollMs),
                    timeout: callTimeout + Double(Self.pollMs) / 1000) else { return }
                if answer.closed { return }
                data.removeFirst(min(answer.accepted, data.count))
            }
        }
    }

    /// Runs `body` on a thread of its own; the semaphore is signalled when it returns.
    private func spawn(_ name: String, _ body: @escaping @Sendable () -> Void) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        let thread = PosixThread { body(); done.signal() }
        thread.name = name
        thread.start()
        return done
    }
}
