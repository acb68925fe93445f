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

extension Invocation {
    /// For `serve`: the dispatcher of the configured sinks (nil when there are none), secrets read
    /// and cursors registered, not yet started. Fails before serving if a secret cannot be read.
    func webhookDispatcher(service: SandboxService, metrics: Metrics) throws(SandboxerError) -> WebhookDispatcher? {
        let sinks = config.webhooks
        guard !sinks.isEmpty else { return nil }
        let secrets: [String: [UInt8]]
        do { secrets = try WebhookDispatcher.resolveSecrets(sinks, environment: environment) } catch {
            throw SandboxerError(.config, error.description)
        }
        let console = self.console
        let dispatcher = WebhookDispatcher(
            store: service.store, sinks: sinks, secrets: secrets, clock: service.clock,
            log: { console.err($0) },
            observe: { outcome in
                let label: String
                switch outcome.result {
                case .delivered: label = "delivered"
                case .retry: label = "failed"
                case .dead: label = "dead"
                case .superseded: return
                }
                metrics.increment("sandboxer_webhook_deliveries_total", labels: ["sink": outcome.sink, "outcome": label])
            })
        try service.storeCall { () throws(StoreError) in try dispatcher.register() }
        for sink in sinks { console.err("sandboxer: delivering events to \(sink)\n") }
        return dispatcher
    }
}
