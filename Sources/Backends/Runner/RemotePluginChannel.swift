import Dispatch
import FoundationEssentials
import Basics
import Glibc
import Core
import PluginProtocol
import Synchronization

/// A plugin instance in a plugin runner child process (`sandboxer __plugin-runner`): the same calls
/// as `PluginInstance`, over framed JSON on a socketpair. A crash of the runner fails only the calls
/// in flight (`unavailable`); the next call restarts it, with backoff when it keeps dying. A call
/// past its deadline is cancelled, and its runner killed if the plugin does not return soon after.
final class RemotePluginChannel: PluginChannel, @unchecked Sendable {
    // @unchecked: every stored property is immutable or a Mutex.

    let plugin: PluginIdentity
    let backend: String
    let maxResponseBytes: Int
    private let hello: RunnerHello
    private let settings: PluginRunnerSettings
    private let context: PluginHostContext
    private let environment: [String]
    private let link: ChannelLink

    struct State {
        var policy: RunnerRestartPolicy
        var connection: RunnerConnection?
    }
    private let state: Mutex<State>
    /// Held while a runner starts, so concurrent calls start one runner, not several.
    private let starting = Mutex<Void>(())

    /// Starts a runner for `path` and creates the instance in it; fails as the in-process load would.
    static func start(path: String, backend: String, config: JSONValue, maxResponseBytes: Int, context: PluginHostContext,
                      settings: PluginRunnerSettings) throws(PluginLoadError) -> RemotePluginChannel {
        let hello = RunnerHello(version: RunnerWire.version, path: path, backend: backend, config: config,
                                maxResponseBytes: maxResponseBytes)
        let environment = RunnerSpawner.runnerEnvironment()
        let link = ChannelLink()
        let launched = try launch(hello: hello, settings: settings, context: context, environment: environment,
                                  onExit: link.onExit)
        let channel = RemotePluginChannel(plugin: launched.identity, hello: hello, settings: settings, context: context,
                                          environment: environment, link: link)
        link.channel.withLock { $0 = channel }
        channel.adopt(launched)
        return channel
    }

    /// How a connection's reader reaches its channel, which does not exist yet when the first runner starts.
    final class ChannelLink: Sendable {
        let channel = Mutex<RemotePluginChannel?>(nil)
        var onExit: @Sendable (RunnerConnection, WaitStatus) -> Void {
            { [self] connection, _ in channel.withLock { $0 }?.connectionEnded(connection) }
        }
    }

    private init(plugin: PluginIdentity, hello: RunnerHello, settings: PluginRunnerSettings, context: PluginHostContext,
                 environment: [String], link: ChannelLink) {
        self.link = link
        self.plugin = plugin
        self.backend = hello.backend
        self.maxResponseBytes = hello.maxResponseBytes
        self.hello = hello
        self.settings = settings
        self.context = context
        self.environment = environment
        self.state = Mutex(State(policy: settings.restartPolicy))
    }

    /// The pid of the running runner, nil when none runs (tests).
    var runnerProcessID: pid_t? {
        state.withLock { s in s.connection.flatMap { $0.isAlive ? $0.process.pid : nil } }
    }

    /// Waits up to `seconds` until no runner is running for this backend (tests, shutdown).
    func waitRunnerGone(_ seconds: Double) -> Bool {
        guard let connection = state.withLock({ $0.connection }) else { return true }
        return connection.waitExit(seconds)
    }

    // MARK: Calls

    /// Registers a call and sends it to the runner; the caller waits on the pending call.
    func startCall(_ operation: String, _ request: Data, timeout: Double?) throws(BackendError)
        -> (RunnerConnection, RunnerConnection.Pending, UInt64) {
        let connection = try connection(for: operation)
        let id = context.nextCallId()
        guard let pending = connection.register(id) else {
            // The runner died between the liveness check and the send: say how (a crash, usually).
            let how = connection.endClause ?? "stopped"
            throw BackendError(.unavailable, "The plugin \(plugin.name) (backend \(backend)) \(how) before the call was sent; its runner will be restarted; try again.",
                               backend: backend, operation: operation)
        }
        var header = RunnerHeader(.call, id: id)
        header.op = operation
        header.timeout = timeout
        connection.send(header, payload: request)  // a failed write ends the stream: the reader fails the call
        return (connection, pending, id)
    }

    func reply(_ operation: String, _ request: Data, timeout: Double?) throws(BackendError) -> PluginReply {
        let (connection, pending, id) = try startCall(operation, request, timeout: timeout)
        if let timeout {
            let nanos = Int(max(0, min(timeout, 1e6)) * 1e9)
            if pending.done.wait(timeout: .now() + .nanoseconds(nanos)) == .timedOut, pending.finish(.abandoned) {
                enforceDeadline(connection, pending, id: id, operation: operation, timeout: timeout)
                throw BackendError(.timeout, "The call did not finish within \(PluginInstance.seconds(timeout)) s; the host cancelled it and stopped waiting.",
                                   backend: backend, operation: operation)
            }
        } else {
            pending.done.wait()
        }
        switch pending.outcome.withLock({ $0 }) {
        case .reply(let reply)?:
            state.withLock { $0.policy.answered() }
            return reply
        case .failed(let message)?:
            throw BackendError(.unavailable, message, backend: backend, operation: operation)
        case .abandoned?, nil:
            throw BackendError(.internal, "The host lost the answer of a plugin call.", backend: backend, operation: operation)
        }
    }

    /// Cancels a call past its deadline (the plugin sees `is_cancelled`), and kills its runner if the
    /// call has not returned within `cancelGrace`: a stuck call is stopped, never left running.
    private func enforceDeadline(_ connection: RunnerConnection, _ pending: RunnerConnection.Pending, id: UInt64,
                                 operation: String, timeout: Double) {
        connection.send(RunnerHeader(.cancel, id: id))
        let grace = settings.cancelGrace, terminate = settings.terminateGrace
        let reason = "The plugin \(plugin.name) (backend \(backend)) was stopped because a '\(operation)' call did not return within \(PluginInstance.seconds(timeout)) s; its runner will be restarted."
        let watcher = PosixThread {
            let nanos = Int(max(0, min(grace, 1e6)) * 1e9)
            if pending.returned.wait(timeout: .now() + .nanoseconds(nanos)) == .success { return }
            connection.stop(reason: reason, teardown: .gracefulShutDown(allowed: terminate))
        }
        watcher.start()
    }

    /// The running runner, starting one if the restart policy allows.
    private func connection(for operation: String) throws(BackendError) -> RunnerConnection {
        if let live = state.withLock({ s in s.connection.flatMap { $0.isAlive ? $0 : nil } }) { return live }
        return try starting.withLock { _ throws(BackendError) in
            let now = settings.clock()
            let action: RunnerRestartPolicy.Action = state.withLock { s in
                if let c = s.connection, c.isAlive { return .use }
                return s.policy.callArrived(now: now)
            }
            switch action {
            case .use:
                if let live = state.withLock({ $0.connection }) { return live }
                throw BackendError(.unavailable, "The plugin runner of backend \(backend) stopped; try again.", backend: backend, operation: operation)
            case .stopped:
                throw BackendError(.unavailable, "The backend \(backend) is stopped: the host is shutting down.", backend: backend, operation: operation)
            case .refuse(let retryIn):
                throw BackendError(.unavailable, "The plugin \(plugin.name) (backend \(backend)) keeps crashing; its runner restarts in \(String(cFormat: "%.1f", retryIn)) s.",
                                   backend: backend, operation: operation)
            case .start:
                do throws(PluginLoadError) {
                    let launched = try Self.launch(hello: hello, settings: settings, context: context, environment: environment,
                                                   onExit: link.onExit)
                    adopt(launched)
                    return launched.connection
                } catch {
                    _ = state.withLock { $0.policy.died(now: settings.clock()) }
                    throw BackendError(.unavailable, "The plugin runner of backend \(backend) could not be restarted: \(error.message)",
                                       backend: backend, operation: operation)
                }
            }
        }
    }

    private func adopt(_ launched: Launched) {
        let now = settings.clock()
        state.withLock { s in
            s.connection = launched.connection
            s.policy.started(now: now)
        }
        launched.connection.startReading(launched.reader)
    }

    /// Called by a connection's reader once its process is reaped.
    private func connectionEnded(_ connection: RunnerConnection) {
        let now = settings.clock()
        state.withLock { s in
            guard s.connection === connection else { return }
            s.connection = nil
            s.policy.died(now: now)
        }
    }

    // MARK: Shutdown

    /// Cancels the calls in flight (the plugin sees `is_cancelled`), gives them `shutdownGrace` to
    /// return, then stops the runner; no runner is started again.
    func stop() {
        let connection = state.withLock { s in
            s.policy.stop()
            return s.connection
        }
        guard let connection, connection.isAlive else { return }
        for id in connection.inFlight { connection.send(RunnerHeader(.cancel, id: id)) }
        _ = connection.waitDrained(within: settings.shutdownGrace)
        connection.stop(reason: "The backend \(backend) was stopped: the host is shutting down.",
                        teardown: .gracefulShutDown(allowed: settings.terminateGrace))
    }
}
