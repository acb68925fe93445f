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

/// `sandboxer snapshots`: list snapshots, newest first.
struct SnapshotsCommand: Command {
    static let spec = CommandSpec(name: "snapshots", summary: "List snapshots, newest first.", arguments: ["ID?"],
        options: [.init(name: "all", help: "Include deleted and failed snapshots.")])

    let invocation: Invocation

    func run() throws(SandboxerError) -> Int32 {
        let rows = try openService().snapshots(sandboxId: parsed.arguments.first, all: parsed.has("all"))
        if json { emit(.array(rows.map(\.jsonValue))); return 0 }
        var table = Table("ID", "SANDBOX", "NAME", "STATE", "SIZE", "CREATED", "TRIGGER")
        for s in rows {
            table.add(s.id, s.sandboxId, s.name ?? "-", s.state.rawValue, s.sizeBytes.map(Invocation.bytes) ?? "-",
                      RFC3339.format(s.createdAt), s.trigger.rawValue)
        }
        console.print(table.rendered)
        return 0
    }
}
