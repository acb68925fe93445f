import Foundation
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
import Synchronization

extension Invocation {
    /// `sandboxer serve`: reconcile interrupted work, serve the HTTP API, run the expiry sweep on a
    /// timer and deliver webhooks until SIGTERM/SIGINT; then finish in-flight requests and exit 0.
    func serve() throws(SandboxerError) -> Int32 {
        // Signals go to one sigwait thread; install before any other thread of ours starts.
        let stop = ServeStop()
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
        let webhooks = try webhookDispatcher(service: service, metrics: api.metrics)  // registers sinks before serving
        stop.onTrigger { api.longPolls.close() }  // a waiting GET /v1/events must not hold up shutdown
        var configuration = HTTPServerConfiguration()
        configuration.listen = address
        let console = self.console
        let server = HTTPServer(configuration: configuration, handler: { api.handle($0) },
                                accessLog: { console.err($0.line + "\n") })
        let bound: ListenAddress
        do { bound = try server.start() } catch { throw SandboxerError(.config, error.description) }
        stop.onTrigger { server.shutdown() }
        console.err("sandboxer: serving on \(bound) (host \(service.hostId), sweep every \(interval))\n")
        if json { emit(.object(["listen": .string(bound.description), "host_id": .string(service.hostId)])) }

        let sweepSeconds = Double(interval.seconds)
        let sweeper = Thread {
            // The sweep waits on the stop signal with a deadline, so shutdown never waits a whole interval.
            repeat {
                do throws(SandboxerError) {
                    let items = try service.expire(apply: true)
                    for item in items where item.outcome == SandboxState.destroyed.rawValue {
                        api.metrics.increment("sandboxer_expiries_total", labels: ["rule": item.rule.rawValue])
                        console.err("sandboxer: expired \(item.sandbox.id) (\(item.rule.rawValue))\n")
                    }
                } catch {
                    console.err("sandboxer: expiry sweep failed: \(error.message)\n")
                }
                do throws(SandboxerError) {
                    for item in try service.pruneSnapshots(apply: true) {
                        console.err("sandboxer: snapshot \(item.snapshot.id) \(item.outcome ?? "-") (\(item.rule.rawValue))\n")
                    }
                } catch {
                    console.err("sandboxer: snapshot retention sweep failed: \(error.message)\n")
                }
            } while !stop.wait(seconds: sweepSeconds)
        }
        sweeper.name = "expiry-sweep"
        sweeper.start()
        webhooks?.start()
        server.wait()
        stop.trigger()
        webhooks?.stop()  // lets attempts in flight finish (or time out)
        console.err("sandboxer: stopped\n")
        return 0
    }
}

/// A one-shot stop signal that threads can wait on with a deadline.
final class ServeStop: Sendable {
    private let state = Mutex<(stopped: Bool, actions: [@Sendable () -> Void])>((false, []))
    private let semaphore = DispatchSemaphore(value: 0)

    /// Runs `action` once stop is triggered (at once if it already was).
    func onTrigger(_ action: @escaping @Sendable () -> Void) {
        let already = state.withLock { s -> Bool in
            if !s.stopped { s.actions.append(action) }
            return s.stopped
        }
        if already { action() }
    }

    func trigger() {
        let actions = state.withLock { s -> [@Sendable () -> Void]? in
            if s.stopped { return nil }
            s.stopped = true
            return s.actions
        }
        guard let actions else { return }
        semaphore.signal()
        for action in actions { action() }
    }

    /// Waits up to `seconds`; true once stop was triggered.
    func wait(seconds: Double) -> Bool {
        if state.withLock({ $0.stopped }) { return true }
        if semaphore.wait(timeout: .now() + seconds) == .success { semaphore.signal(); return true }
        return state.withLock { $0.stopped }
    }
}
