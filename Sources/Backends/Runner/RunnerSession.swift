import Dispatch
import FoundationEssentials
import Glibc
import PluginProtocol
import Synchronization

/// The runner's side of the stream: reads the hello, loads the plugin, then runs each call on its
/// own pool thread (the one that read it) and proxies the plugin's callbacks (clock, secrets, log) to the host; cancellation
/// arrives as `cancel` frames and answers the plugin's `is_cancelled`.
final class RunnerSession: Sendable {
    let fd: Int32
    private let io = Mutex<Void>(())
    private let callbacks = Mutex<[UInt64: CallbackWait]>([:])
    private let lastCallback = Atomic<UInt64>(0)
    private let pool = RunnerWorkerPool()
    /// Frames from the host carry requests up to the host's own bounds; a secret or a request past
    /// this is a broken host.
    static let maxFrameBytes = 256 << 20

    /// One callback waiting for the host's answer.
    final class CallbackWait: Sendable {
        let answer = Mutex<(header: RunnerHeader, payload: Data)?>(nil)
        let done = DispatchSemaphore(value: 0)
    }

    init(fd: Int32) {
        self.fd = fd
    }

    func send(_ header: RunnerHeader, payload: Data = Data()) {
        io.withLock { _ in
            // A failed write means the host is gone; the reader sees the end of the stream and exits.
            try? RunnerWire.write(fd: fd, header, payload: payload)
        }
    }

    /// Asks the host and waits for its answer (the host always answers while it lives; when it
    /// dies, the read loop exits the process).
    func ask(_ header: RunnerHeader) -> (header: RunnerHeader, payload: Data)? {
        var header = header
        let id = lastCallback.add(1, ordering: .relaxed).newValue
        header.id = id
        let wait = CallbackWait()
        callbacks.withLock { $0[id] = wait }
        send(header)
        wait.done.wait()
        return wait.answer.withLock { $0 }
    }

    /// The host's callbacks as a context: the loader builds the plugin's host table on it.
    func makeContext() -> PluginHostContext {
        PluginHostContext(
            now: { [self] in
                let ms = ask(RunnerHeader(.now))?.header.ms ?? 0
                return Date(timeIntervalSince1970: Double(ms) / 1000)
            },
            secret: { [self] name in
                var header = RunnerHeader(.secret)
                header.message = name
                guard let answer = ask(header), answer.header.found == true else { return nil }
                return String(decoding: answer.payload, as: UTF8.self)
            },
            logLine: { [self] line in
                var header = RunnerHeader(.log)
                header.code = line.level
                header.message = line.message
                header.metadata = line.metadataJSON
                send(header)
            })
    }

    /// Serves the host until the stream ends; never returns normally (exits the process).
    func run() -> Int32 {
        let reader = RunnerFrameReader(fd: fd, maxFrameBytes: Self.maxFrameBytes)
        guard let first = try? reader.next(), first.header.type == .hello,
              let hello = try? JSONDecoder().decode(RunnerHello.self, from: first.payload) else { return 3 }
        guard hello.version == RunnerWire.version else {
            refuse(.instanceFailed, "The plugin runner speaks protocol \(RunnerWire.version), the host \(hello.version).")
            return 3
        }
        let context = makeContext()
        // Loading runs on a pool thread while this one reads: the plugin may call back (clock,
        // secrets, log) from its entry or instance_create, and the answers arrive on this stream.
        let loaded = Mutex<PluginInstance?>(nil)
        pool.submit { [self] in
            do throws(PluginLoadError) {
                let plugin = try PluginLoader.load(path: hello.path, context: context, backend: hello.backend)
                let instance = try plugin.makeInstance(name: hello.backend, config: hello.config, maxResponseBytes: hello.maxResponseBytes)
                loaded.withLock { $0 = instance }
                let info = instance.plugin
                let ok = RunnerHelloOK(version: RunnerWire.version, name: info.name, pluginVersion: info.version,
                                       abiMajor: info.abiMajor, abiMinor: info.abiMinor)
                send(RunnerHeader(.helloOK), payload: (try? JSONEncoder().encode(ok)) ?? Data())
            } catch {
                refuse(error.code, error.message)
            }
        }
        let instance: @Sendable () -> PluginInstance? = { loaded.withLock { $0 } }
        serve(reader, instance: instance, context: context)
        // Reading moved to a pool thread (which exits the process at the end of the stream).
        while true { pause() }
    }

    private func refuse(_ code: PluginLoadError.Code, _ message: String) {
        var header = RunnerHeader(.helloError)
        header.op = code.rawValue
        header.message = message
        send(header)
    }

    /// Reads frames until a call arrives, then hands reading to a pool thread and runs the call on
    /// this one (leader/follower): the call starts without waiting for another thread to wake.
    /// At the end of the stream (or a broken one) the process exits: calls still running have no
    /// one to answer.
    private func serve(_ reader: RunnerFrameReader, instance: @escaping @Sendable () -> PluginInstance?, context: PluginHostContext) {
        while let frame = try? reader.next() {
            let header = frame.header
            switch header.type {
            case .call:
                // The host sends calls only after hello_ok, so the instance exists.
                guard let id = header.id, let operation = header.op, let plugin = instance() else { _exit(0) }
                pool.submit { [self] in serve(reader, instance: instance, context: context) }
                let reply = plugin.invokeNow(operation, frame.payload, callId: id)
                context.forget(id)
                var answer = RunnerHeader(.reply, id: id)
                answer.code = reply.code
                answer.length = reply.length
                if reply.brokenBuffer { answer.broken = true }
                send(answer, payload: reply.bytes)
                return
            case .cancel:
                guard let id = header.id else { _exit(0) }
                context.cancel(id)
            case .nowReply, .secretReply:
                guard let id = header.id, let wait = callbacks.withLock({ $0.removeValue(forKey: id) }) else { _exit(0) }
                wait.answer.withLock { $0 = frame }
                wait.done.signal()
            default:
                _exit(0)
            }
        }
        _exit(0)
    }
}
