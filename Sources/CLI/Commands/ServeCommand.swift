import FoundationEssentials
import Glibc
import API
import Lifecycle
import Webhooks
import Store
import Config
import Core
import Backends
import HTTPServer
import Basics
import PluginProtocol

/// `sandboxer serve`: serve the HTTP API and run the expiry sweep on a timer.
struct ServeCommand: Command {
    static let spec = CommandSpec(name: "serve", summary: "Serve the HTTP API and run the expiry sweep on a timer.",
        options: [.init(name: "listen", value: "ADDR", help: "HOST:PORT or unix:/path (default: server.listen, else 127.0.0.1:8080)."),
        .init(name: "sweep-interval", value: "DURATION", help: "How often to run 'expire --apply' (default: server.sweep_interval, else 30s).")],
        discussion: "Reconciles interrupted work first. With no API tokens configured it listens on loopback only.\nEach sweep also applies snapshot retention; configured webhook sinks are delivered continuously.\nSIGTERM or SIGINT: stop accepting, finish in-flight requests, exit 0.")

    let invocation: Invocation

    /// `sandboxer serve`: reconcile interrupted work, serve the HTTP API, run the expiry sweep on a
    /// timer and deliver webhooks until SIGTERM/SIGINT; then finish in-flight requests and exit 0.
    func run() throws(SandboxerError) -> Int32 {
        // Signals go to one sigwait thread; install before any other thread of ours starts.
        // The clock offset is a debugging aid for one-shot commands; a server that expires other
        // people's sandboxes must never run on a shifted clock.
        if environment["SANDBOXER_CLOCK_OFFSET"] != nil {
            throw SandboxerError(.usage, "SANDBOXER_CLOCK_OFFSET is a debugging aid for one-shot commands; unset it to run serve.")
        }
        ServeMemory.limitArenas(environment: environment)  // before any thread of ours mallocs
        let stop = StopSignal()
        ShutdownSignals.install { _ in stop.trigger() }

        let listenText = parsed.value("listen") ?? config.server.listen
        let address: ListenAddress
        do { address = try ListenAddress.parse(listenText) } catch { throw SandboxerError(.usage, error.description) }
        if config.server.tokens.isEmpty && !address.isLoopback {
            throw SandboxerError(.config, "Refusing to listen on \(address) with no API tokens configured: add server.tokens to \(config.source), or listen on loopback.")
        }
        var interval = config.server.sweepInterval
        if let text = parsed.value("sweep-interval") {
            do { interval = try TTLDuration.parse(text) } catch { throw SandboxerError(.usage, error.message) }
        }

        let service = try openService()  // reconciles interrupted work first
        let api = try SandboxAPI(service: service, settings: config.server)  // a broken embedded document stops here
        let webhooks = try invocation.webhookDispatcher(service: service, metrics: api.metrics)  // registers sinks before serving
        stop.onTrigger { api.longPolls.close() }  // a waiting GET /v1/events must not hold up shutdown
        var configuration = HTTPServerConfiguration()
        configuration.listen = address
        let console = self.console
        // One write per round of the event loop rather than one per request (docs/performance.md).
        let accessLog = AccessLogBuffer { console.err($0) }
        let server = HTTPServer(configuration: configuration, handler: { api.handle($0) },
                                isPriority: { api.isPriority($0) }, accessLog: { accessLog.append($0) },
                                accessLogFlush: { accessLog.flush() }, inlineHandler: { api.handleInline($0) })
        let bound: ListenAddress
        do { bound = try server.start() } catch { throw SandboxerError(.config, error.description) }
        stop.onTrigger { server.shutdown() }
        ServeMemory.releaseFreedMemory()  // what start-up allocated and dropped
        console.err("sandboxer: serving on \(bound) (host \(service.hostId), sweep every \(interval))\n")
        if json { emit(.object(["listen": .string(bound.description), "host_id": .string(service.hostId)])) }

        let metrics = api.metrics
        SweepLoop(service: service, interval: interval, stop: stop) { report in
            switch report {
            case .reconciled(let sandbox):
                console.err("sandboxer: finished interrupted work on \(sandbox.id): now \(sandbox.state.rawValue)\n")
            case .reconciledSnapshot(let snapshot):
                console.err("sandboxer: interrupted snapshot \(snapshot.id) marked \(snapshot.state.rawValue)\n")
            case .expired(let item) where item.outcome == .destroyed:
                metrics.increment("sandboxer_expiries_total", labels: ["rule": item.rule.rawValue])
                console.err("sandboxer: expired \(item.sandbox.id) (\(item.rule.rawValue))\n")
            case .expired:
                break
            case .pruned(let item):
                console.err("sandboxer: snapshot \(item.snapshot.id) \(item.outcome.text ?? "-") (\(item.rule.rawValue))\n")
            case .prunedOutbox(let pruned):
                console.err("sandboxer: retention deleted \(pruned.counts.events) old events and \(pruned.counts.webhookDeliveries) delivered webhook rows\n")
            case .failed(let sweep, let error):
                console.err("sandboxer: \(sweep) sweep failed: \(error.message)\n")
            }
        }.start()
        webhooks?.start()
        server.wait()
        stop.trigger()
        service.backends.stopRunners()  // cancels plugin calls still in flight (proxied), then stops the runners
        webhooks?.stop()  // lets attempts in flight finish (or time out)
        console.err("sandboxer: stopped\n")
        return 0
    }
}
