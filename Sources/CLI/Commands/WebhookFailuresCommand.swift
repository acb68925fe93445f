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

/// `sandboxer webhook-failures`: list webhook deliveries that failed every attempt (dead letters), or requeue them.
struct WebhookFailuresCommand: Command {
    static let spec = CommandSpec(name: "webhook-failures", summary: "List webhook deliveries that failed every attempt (dead letters), or requeue them.",
        options: [.init(name: "sink", value: "NAME", help: "Only this webhook sink."),
        .init(name: "retry", help: "Requeue them: a running 'serve' sends each again, with a fresh set of attempts.")],
        discussion: "A delivery is dead after its sink's max_attempts failed attempts (see docs/webhooks.md).\nThe same list: GET /v1/events/failed (operator).")

    let invocation: Invocation

    /// `sandboxer webhook-failures [--sink NAME] [--retry]`: the dead letters, or requeue them.
    func run() throws(SandboxerError) -> Int32 {
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
}
