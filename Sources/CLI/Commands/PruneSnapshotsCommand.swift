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

/// `sandboxer prune-snapshots`: plan (default) or apply snapshot retention.
struct PruneSnapshotsCommand: Command {
    static let spec = CommandSpec(name: "prune-snapshots", summary: "Plan (default) or apply snapshot retention.",
        options: [.init(name: "apply", help: "Delete the snapshots the plan lists.")],
        discussion: "Per sandbox, profile 'snapshots: {keep: N, max_age: D}' keeps the newest N and drops any older than D.")

    let invocation: Invocation

    func run() throws(SandboxerError) -> Int32 {
        let apply = parsed.has("apply")
        let service = try openService()
        let items = try service.pruneSnapshots(apply: apply)
        if json {
            emit(PruneView.render(items, apply: apply, now: service.clock.now()))
        } else if items.isEmpty {
            console.print("Every snapshot is within its retention rules.\n")
        } else {
            var table = Table("SNAPSHOT", "SANDBOX", "PROFILE", "CREATED", "RULE", apply ? "OUTCOME" : "ACTION")
            for item in items {
                let s = item.snapshot
                table.add(s.id, s.sandboxId, s.profile, RFC3339.format(s.createdAt), item.rule.rawValue, item.outcome.text ?? "delete")
            }
            console.print(table.rendered)
            if !apply { console.err("Dry run: nothing was changed. Run 'sandboxer prune-snapshots --apply' to act.\n") }
        }
        return items.contains { $0.outcome.isError } ? 1 : 0
    }
}
