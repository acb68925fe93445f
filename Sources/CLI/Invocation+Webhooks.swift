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

extension Invocation {
    /// `sandboxer webhook-failures [--sink NAME] [--retry]`: the dead letters, or requeue them.
    func webhookFailures() throws(SandboxerError) -> Int32 {
        let sink = parsed.value("sink")
        let service = try openService()
        if let sink, !config.webhooks.contains(where: { $0.name == sink }) {
            console.err("sandboxer: note: no webhook sink named '\(sink)' is configured in \(config.source).\n")
        }
        if parsed.has("retry") {
            let count = try service.storeCall { () throws(StoreError) in
                try service.store.requeueDeadWebhookDeliveries(sink: sink, now: service.clock.now())
            }
            if json {
                emit(.object(["requeued": .number(Double(count))]))
            } else {
                console.print("requeued \(count) dead webhook deliver\(count == 1 ? "y" : "ies")\n")
                if count > 0 { console.err("A running 'sandboxer serve' sends them again, each with a fresh set of attempts.\n") }
            }
            return 0
        }
        let dead = try service.storeCall { () throws(StoreError) in try service.store.webhookDeliveries(state: .dead, sink: sink) }
        let storeId = service.store.storeId
        if json { emit(.array(dead.map { $0.jsonValue(storeId: storeId) })); return 0 }
        var table = Table("SINK", "EVENT", "SEQ", "TYPE", "SANDBOX", "ATTEMPTS", "STATUS", "FAILED AT", "ERROR")
        for d in dead {
            table.add(d.sink, WebhookMessage.eventId(storeId: storeId, seq: d.event.seq), String(d.event.seq), d.event.type,
                      d.event.sandboxId, String(d.attempts), d.lastStatus.map(String.init) ?? "-", RFC3339.format(d.updatedAt),
                      d.lastError ?? "-")
        }
        console.print(table.rendered)
        return 0
    }

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
