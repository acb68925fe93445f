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

/// `sandboxer expire`: plan (default) or apply the expiry sweep.
struct ExpireCommand: Command {
    static let spec = CommandSpec(name: "expire", summary: "Plan (default) or apply the expiry sweep.",
        options: [.init(name: "apply", help: "Mark each due sandbox expired and destroy it (snapshot it first with on_expire: snapshot); send due expiry_warning events.")],
        discussion: "Due: past expires_at (rule ttl, or ttl_max when the cap was reached), or idle past updated_at + idle_reap (rule idle).")

    let invocation: Invocation

    func run() throws(SandboxerError) -> Int32 {
        let apply = parsed.has("apply")
        let service = try openService()
        let items = try service.expire(apply: apply)
        let failed = items.contains { $0.outcome.isError }
        if json {
            emit(ExpiryView.render(items, apply: apply, now: service.clock.now()))
        } else if items.isEmpty {
            console.print("Nothing is due.\n")
        } else {
            var table = Table("ID", "PROFILE", "BACKEND", "RULE", "DUE", apply ? "OUTCOME" : "ACTION")
            for item in items {
                table.add(item.sandbox.id, item.sandbox.profile, item.sandbox.backend, item.rule.rawValue,
                          RFC3339.format(item.dueAt), item.outcome.text.map { outcome in
                              item.snapshotId.map { "\(outcome) (snapshot \($0))" } ?? outcome
                          } ?? (item.onExpire == .snapshot ? "expire, snapshot, destroy" : "expire, destroy"))
            }
            console.print(table.rendered)
            if !apply { console.err("Dry run: nothing was changed. Run 'sandboxer expire --apply' to act.\n") }
        }
        return failed ? 1 : 0
    }
}
