import FoundationEssentials
import Glibc
import Lifecycle
import Core
import Basics
import PluginProtocol

/// `sandboxer prune-events`: plan (default) or apply the retention of events and delivered webhook rows.
struct PruneEventsCommand: Command {
    static let spec = CommandSpec(name: "prune-events", summary: "Plan (default) or apply the retention of events and delivered webhook rows.",
        options: [.init(name: "apply", help: "Delete what the plan counts.")],
        discussion: "Config 'retention: {events: 30d, webhook_deliveries: 7d}' (the defaults). Delivered webhook rows older than\nwebhook_deliveries go; events older than events go once every webhook sink is past them. serve does this each sweep.")

    let invocation: Invocation

    func run() throws(SandboxerError) -> Int32 {
        let apply = parsed.has("apply")
        let report = try openService().pruneOutbox(apply: apply)
        if json {
            emit(.object(["apply": .bool(apply),
                          "events": .number(Double(report.counts.events)),
                          "events_before": .string(RFC3339.format(report.eventsBefore)),
                          "webhook_deliveries": .number(Double(report.counts.webhookDeliveries)),
                          "webhook_deliveries_before": .string(RFC3339.format(report.webhookDeliveriesBefore))]))
        } else {
            let verb = apply ? "Deleted" : "Would delete"
            console.print("\(verb) \(report.counts.events) events from before \(RFC3339.format(report.eventsBefore)) "
                          + "and \(report.counts.webhookDeliveries) delivered webhook rows from before \(RFC3339.format(report.webhookDeliveriesBefore)).\n")
            if !apply && (report.counts.events > 0 || report.counts.webhookDeliveries > 0) {
                console.err("Dry run: nothing was changed. Run 'sandboxer prune-events --apply' to act.\n")
            }
        }
        return 0
    }
}
