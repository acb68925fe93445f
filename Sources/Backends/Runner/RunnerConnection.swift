import Dispatch
import FoundationEssentials
import Basics
import Glibc
import Synchronization

/// The host's side of one running plugin runner: writes frames, and a reader thread that routes
/// replies to waiting calls, answers the runner's callbacks (clock, secrets, log), and, when the
/// stream ends, reaps the process and fails every call still in flight with why it died.
final class RunnerConnection: @unchecked Sendable {
    // @unchecked: `fd` is written only under `io` (and closed there); the rest is immutable or
    // behind a Mutex.

    /// One call in flight: its outcome for the caller, and whether the runner is done with it.
    final class Pending: Sendable {
        enum Outcome: Sendable {
            case reply(PluginReply)
            /// The runner died or was stopped before answering: the message says why.
            case failed(String)
            /// The caller stopped waiting (deadline); a late reply is dropped.
            case abandoned
        }
        let outcome = Mutex<Outcome?>(nil)
        /// Signalled once the outcome is set (the caller waits on it).
        let done = DispatchSemaphore(value: 0)
        /// Signalled once the runner answered or died (the deadline watcher waits on it).
        let returned = DispatchSemaphore(value: 0)

        /// Sets the outcome unless one is set; true if this call set it.
        @discardableResult
        func finish(_ value: Outcome) -> Bool {
            let first = outcome.withLock { o in
                if o != nil { return false }
                o = value
                return true
            }
            if first { done.signal() }
            return first
        }
    }

    struct State {
        var pending: [UInt64: Pending] = [:]
        /// Set when the host stops the runner on purpose: the message calls still in flight get.
        var stopReason: String?
        /// The wait status once reaped; no signal may be sent after that (the pid may be reused).
        var exit: WaitStatus?
    }

    let process: RunnerProcess
    let backend: String
    private let name: Mutex<String>
    /// The plugin's name for messages: its file name until the hello is answered.
    var pluginName: String {
        get { name.withLock { $0 } }
        set { name.withLock { $0 = newValue } }
    }
    private let io = Mutex<Bool>(true)  // open
    private let state = Mutex(State())
    /// Left once the process is reaped: teardown and tests wait on it.
    private let exited = DispatchGroup()
    /// One entry per call the runner has not answered yet: shutdown waits for it to drain.
    private let inFlightGroup = DispatchGroup()
    private let context: PluginHostContext
    private let maxFrameBytes: Int
    private let onExit: @Sendable (RunnerConnection, WaitStatus) -> Void

    init(process: RunnerProcess, backend: String, pluginName: String, context: PluginHostContext, maxResponseBytes: Int,
         onExit: @escaping @Sendable (RunnerConnection, WaitStatus) -> Void) {
        self.process = process
        self.backend = backend
        self.name = Mutex(pluginName)
        self.context = context
        self.maxFrameBytes = maxResponseBytes + RunnerWire.maxHeaderBytes + 8 + PluginLimits.messageBytes
        self.onExit = onExit
    }

    /// Starts the reader thread (after the hello, which the starter reads itself).
    func startReading(_ reader: RunnerFrameReader) {
        exited.enter()  // here, not in init: a group dropped while entered crashes, and a failed start drops it
        let thread = PosixThread { [self] in readLoop(reader) }
        thread.name = "sandboxer-runner-\(backend)"
        thread.start()
    }

    /// Whether the process has been reaped.
    var isAlive: Bool { state.withLock { $0.exit == nil } }

    /// Writes one frame; false when the connection is closed or the write failed (the reader then
    /// sees the end of the stream and fails the calls).
    @discardableResult
    func send(_ header: RunnerHeader, payload: Data = Data()) -> Bool {
        io.withLock { open in
            guard open else { return false }
            do { try RunnerWire.write(fd: process.fd, header, payload: payload); return true } catch { return false }
        }
    }

    /// Why the runner is gone, as a clause ("crashed with SIGSEGV"), or nil while it runs.
    var endClause: String? {
        state.withLock { s in s.stopReason.map { _ in "was stopped" } ?? s.exit.map(\.phrase) }
    }

    /// Registers a call before its frame is sent; nil when the runner is already gone (with why).
    func register(_ id: UInt64) -> Pending? {
        let pending = Pending()
        return state.withLock { s in
            guard s.exit == nil, s.stopReason == nil else { return nil }
            s.pending[id] = pending
            inFlightGroup.enter()
            return pending
        }
    }

    /// Removes a call the runner is done with (answered, or died); false if it was not in flight.
    private func complete(_ id: UInt64) -> Pending? {
        guard let call = state.withLock({ $0.pending.removeValue(forKey: id) }) else { return nil }
        call.returned.signal()
        inFlightGroup.leave()
        return call
    }

    /// Waits until every call sent has been answered; false after `seconds`.
    func waitDrained(within seconds: Double) -> Bool {
        inFlightGroup.wait(timeout: .now() + .nanoseconds(Int(max(0, min(seconds, 1e6)) * 1e9))) == .success
    }

    /// Ids of the calls in flight.
    var inFlight: [UInt64] { state.withLock { Array($0.pending.keys) } }

    /// Waits until the process is reaped; false after `seconds`.
    func waitExit(_ seconds: Double) -> Bool {
        if seconds.isInfinite { exited.wait(); return true }
        return exited.wait(timeout: .now() + .nanoseconds(Int(max(0, min(seconds, 1e6)) * 1e9))) == .success
    }

    /// Stops the runner on purpose: calls still in flight fail with `reason`; closing our end tells
    /// a healthy runner to exit, and `teardown` makes sure of it.
    func stop(reason: String, teardown: RunnerTeardown) {
        state.withLock { s in if s.stopReason == nil { s.stopReason = reason } }
        _ = io.withLock { open in open ? shutdown(process.fd, Int32(SHUT_RDWR)) : 0 }
        teardown.run(pid: process.pid, signal: { signal in
            // Under the state lock: once reaped, the pid may belong to someone else.
            state.withLock { s in if s.exit == nil { kill(process.pid, signal) } }
        }, waitExit: waitExit)
    }

    private func readLoop(_ reader: RunnerFrameReader) {
        var broken: String? = nil
        while true {
            let frame: (header: RunnerHeader, payload: Data)?
            do { frame = try reader.next() } catch {
                if !error.peerGone { broken = error.description }
                break
            }
            guard let frame else { break }
            if let problem = handle(frame.header, frame.payload) { broken = problem; break }
        }
        if let broken {
            state.withLock { s in
                if s.stopReason == nil {
                    s.stopReason = "The plugin \(pluginName) (backend \(backend)) broke the runner protocol (\(broken)); the host stopped its runner."
                }
                kill(process.pid, SIGKILL)
            }
        }
        let status = reap()
        io.withLock { open in
            open = false
            close(process.fd)
        }
        let (ids, reason) = state.withLock { s in (Array(s.pending.keys), s.stopReason) }
        let message = reason ?? "The plugin \(pluginName) (backend \(backend)) \(status.phrase); the call failed and its runner will be restarted."
        for id in ids { complete(id)?.finish(.failed(message)) }
        onExit(self, status)
        exited.leave()
    }

    /// Waits for the process to end without reaping it, then reaps it under the state lock so a
    /// concurrent `stop` never signals a recycled pid.
    private func reap() -> WaitStatus {
        var info = siginfo_t()
        while waitid(P_PID, id_t(process.pid), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR {}
        return state.withLock { s in
            var raw: Int32 = 0
            while waitpid(process.pid, &raw, 0) < 0 && errno == EINTR {}
            let status = WaitStatus(raw: raw)
            s.exit = status
            return status
        }
    }

    /// Handles one frame from the runner; a message when it breaks the protocol.
    func handle(_ header: RunnerHeader, _ payload: Data) -> String? {
        switch header.type {
        case .reply:
            guard let id = header.id, let code = header.code else { return "a reply without id or code" }
            let reply = PluginReply(code: code, bytes: payload, length: max(header.length ?? payload.count, payload.count),
                                    brokenBuffer: header.broken ?? false)
            complete(id)?.finish(.reply(reply))
        case .log:
            let text = PluginLimits.oneLine(Data((header.message ?? "").utf8))
            let meta = header.metadata.map { PluginLimits.oneLine(Data($0.utf8)) }
            context.log(PluginLogLine(backend: backend, level: header.code ?? 1, message: text, metadataJSON: meta))
        case .now:
            guard let id = header.id else { return "a clock request without id" }
            var answer = RunnerHeader(.nowReply, id: id)
            answer.ms = context.nowUnixMs()
            send(answer)
        case .secret:
            guard let id = header.id, let name = header.message else { return "a secret request without id or name" }
            var answer = RunnerHeader(.secretReply, id: id)
            let value = context.secret(name)
            answer.found = value != nil
            send(answer, payload: Data((value ?? "").utf8))
        default:
            return "an unexpected \(header.type.rawValue) frame"
        }
        return nil
    }
}
