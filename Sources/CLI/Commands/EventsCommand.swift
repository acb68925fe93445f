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

/// `sandboxer events`: list lifecycle events, oldest first.
struct EventsCommand: Command {
    static let spec = CommandSpec(name: "events", summary: "List lifecycle events, oldest first.", arguments: ["ID?"],
        options: [.init(name: "since", value: "SEQ", help: "Only events after this sequence number."),
        .init(name: "limit", value: "N", help: "At most N events."),
        .init(name: "follow", help: "Keep printing new events as they are appended, until interrupted."),
        .init(name: "failed", help: "List webhook deliveries that failed every attempt instead (as webhook-failures)."),
        .init(name: "sink", value: "NAME", help: "With --failed: only this webhook sink.")],
        discussion: "With --follow and --json, one JSON object per line (JSON Lines). SIGINT, SIGTERM or a closed\nstandard output end it with exit 0. See docs/events.md.")

    let invocation: Invocation

    func run() throws(SandboxerError) -> Int32 {
        func number(_ name: String) throws(SandboxerError) -> Int? {
            guard let text = parsed.value(name) else { return nil }
            guard let n = Int(text), n >= 0 else { throw ParsedCommand.usage(parsed.spec, "'--\(name)' takes a whole number, got '\(text)'.") }
            return n
        }
        if parsed.has("failed") {
            guard !parsed.has("follow"), parsed.value("since") == nil, parsed.value("limit") == nil, parsed.arguments.isEmpty else {
                throw ParsedCommand.usage(parsed.spec, "'--failed' lists dead webhook deliveries; it takes only '--sink'.")
            }
            return try WebhookFailuresCommand(invocation: invocation).run()
        }
        if parsed.value("sink") != nil { throw ParsedCommand.usage(parsed.spec, "'--sink' goes with '--failed'.") }
        let since = try number("since").map(Int64.init)
        let limit = try number("limit")
        if parsed.has("follow") {
            guard limit == nil else { throw ParsedCommand.usage(parsed.spec, "'--limit' cannot be combined with '--follow'.") }
            return try invocation.followEvents(sandboxId: parsed.arguments.first, since: since)
        }
        let events = try openService().events(sandboxId: parsed.arguments.first, since: since, limit: limit)
        if json { emit(.array(events.map(\.jsonValue))); return 0 }
        var table = Table("SEQ", "AT", "SANDBOX", "TYPE", "DATA")
        for e in events { table.add(String(e.seq), RFC3339.format(e.at), e.sandboxId, e.type, e.data.jsonText) }
        console.print(table.rendered)
        return 0
    }
}
