import FoundationEssentials
import Basics
import Glibc
import Synchronization

extension RemotePluginChannel {
    /// A runner that answered its hello: its connection (not yet reading) and the plugin it loaded.
    struct Launched {
        let connection: RunnerConnection
        let reader: RunnerFrameReader
        let identity: PluginIdentity
    }

    /// Seconds a runner may take to load its plugin and create the instance.
    static let helloTimeout = 60.0

    /// Starts a runner, sends the hello, and reads its answer. A refusal is the load error the runner
    /// met (the same code and message as in process); a runner that dies first is `instanceFailed`.
    static func launch(hello: RunnerHello, settings: PluginRunnerSettings, context: PluginHostContext, environment: [String],
                       onExit: @escaping @Sendable (RunnerConnection, WaitStatus) -> Void) throws(PluginLoadError) -> Launched {
        let failure = { (why: String) in
            PluginLoadError(.instanceFailed, "Cannot create backend '\(hello.backend)' from plugin \(hello.path) in a plugin runner: \(why)")
        }
        guard let executable = settings.executable else {
            throw failure("no sandboxer executable was found to run it (set isolation: in_process, or run the host from its executable).")
        }
        let process: RunnerProcess
        switch RunnerSpawner.shared.spawn(executable: executable, environment: environment) {
        case .success(let p): process = p
        case .failure(let error): throw failure("\(error.description).")
        }
        // Until the hello is answered, reads time out: a plugin stuck in instance_create must not hang the host.
        setReceiveTimeout(process.fd, seconds: helloTimeout)
        let reader = RunnerFrameReader(fd: process.fd, maxFrameBytes: hello.maxResponseBytes + RunnerWire.maxHeaderBytes + 8)
        let connection = RunnerConnection(process: process, backend: hello.backend, pluginName: (hello.path).lastPathComponent,
                                          context: context, maxResponseBytes: hello.maxResponseBytes, onExit: onExit)
        var answer: (header: RunnerHeader, payload: Data)?
        do {
            let body = try JSONEncoder().encode(hello)
            try RunnerWire.write(fd: process.fd, RunnerHeader(.hello), payload: body)
            // The plugin may call back (log, clock, secrets) while it loads: answer those on the way.
            while let frame = try reader.next() {
                switch frame.header.type {
                case .log, .now, .secret:
                    if let problem = connection.handle(frame.header, frame.payload) { throw RunnerWire.Failure(problem) }
                    continue
                default:
                    answer = frame
                }
                break
            }
        } catch {
            let status = abandon(process)
            throw failure("the runner \(status.phrase) before it answered (\(error)).")
        }
        setReceiveTimeout(process.fd, seconds: 0)
        guard let answer else {
            let status = abandon(process, kill: false)
            throw failure("the runner \(status.phrase) while loading the plugin.")
        }
        switch answer.header.type {
        case .helloOK:
            guard let ok = try? JSONDecoder().decode(RunnerHelloOK.self, from: answer.payload), ok.version == RunnerWire.version else {
                _ = abandon(process)
                throw failure("the runner answered a hello this host does not understand.")
            }
            let identity = PluginIdentity(path: hello.path, name: ok.name, version: ok.pluginVersion, abiMajor: ok.abiMajor, abiMinor: ok.abiMinor)
            connection.pluginName = ok.name
            return Launched(connection: connection, reader: reader, identity: identity)
        case .helloError:
            _ = abandon(process)
            let code = answer.header.op.flatMap(PluginLoadError.Code.init(rawValue:)) ?? .instanceFailed
            throw PluginLoadError(code, answer.header.message ?? "The plugin runner could not load \(hello.path).")
        default:
            _ = abandon(process)
            throw failure("the runner answered the hello with a \(answer.header.type.rawValue) frame.")
        }
    }

    /// Reaps a runner that never became usable, killing it first unless it already ended its stream
    /// (then it is exiting, and its own status says why).
    static func abandon(_ process: RunnerProcess, kill killFirst: Bool = true) -> WaitStatus {
        shutdown(process.fd, Int32(SHUT_RDWR))
        var raw: Int32 = 0
        if killFirst { kill(process.pid, SIGKILL) }
        while waitpid(process.pid, &raw, 0) < 0 && errno == EINTR {}
        close(process.fd)
        return WaitStatus(raw: raw)
    }

    static func setReceiveTimeout(_ fd: Int32, seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }
}
