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

/// `sandboxer reap-stale`: compare backend inventory with the store; plan (default) or apply the clean-up.
struct ReapStaleCommand: Command {
    static let spec = CommandSpec(name: "reap-stale", summary: "Compare backend inventory with the store; plan (default) or apply the clean-up.",
        options: [.init(name: "apply", help: "Destroy orphans, mark ghosts failed, finish stuck rows.")],
        discussion: "Orphans: resources labelled with this host's id that the store does not know as live.\nGhosts: live sandboxes whose resource is gone (marked failed, reason backend_vanished).\nStuck: provisioning, expired or destroying rows whose owner process is gone (finished with --apply).\nCreates still in flight are left alone.")

    let invocation: Invocation

    func run() throws(SandboxerError) -> Int32 {
        let apply = parsed.has("apply")
        let report = try openService().reapStale(apply: apply)
        if json {
            emit(ReapView.render(report, apply: apply))
        } else {
            var table = Table("KIND", "BACKEND", "SANDBOX", "REF", apply ? "OUTCOME" : "ACTION")
            for o in report.orphans { table.add("orphan", o.backend, o.sandboxId ?? "-", o.backendRef, o.outcome.text ?? "destroy") }
            for g in report.ghosts {
                table.add("ghost", g.sandbox.backend, g.sandbox.id, g.sandbox.backendRef ?? "-", g.outcome.text ?? "mark failed (backend_vanished)")
            }
            for s in report.stuck {
                let plan = s.sandbox.state == .destroying ? "finish destroy (owner gone)" : "mark failed, clean up (owner gone)"
                table.add("stuck", s.sandbox.backend, s.sandbox.id, s.sandbox.backendRef ?? "-", s.outcome.text ?? plan)
            }
            for s in report.inFlight { table.add("in-flight", s.backend, s.id, s.backendRef ?? "-", "leave (create in flight)") }
            for o in report.foreign { table.add("foreign", o.backend, o.sandboxId ?? "-", o.backendRef, "leave (labels do not prove ownership)") }
            for u in report.unreachable {
                for id in u.sandboxIds { table.add("unknown", u.backend, id, "-", "leave (\(u.scope) unreachable)") }
            }
            if table.rows.isEmpty { console.print("Backends and store agree: nothing stale.\n") } else { console.print(table.rendered) }
            for u in report.unreachable {
                console.err("sandboxer: \(u.backend): \(u.scope) is unreachable, its sandboxes are unknown (not ghosts): \(u.message)\n")
            }
            for (backend, message) in report.errors.sorted(by: { $0.key < $1.key }) {
                console.err("sandboxer: inventory of \(backend) failed: \(message)\n")
            }
            if !apply && !(report.orphans.isEmpty && report.ghosts.isEmpty && report.stuck.isEmpty) {
                console.err("Dry run: nothing was changed. Run 'sandboxer reap-stale --apply' to act.\n")
            }
        }
        let failed = !report.errors.isEmpty || report.orphans.contains { $0.outcome.isError } || report.stuck.contains { $0.outcome.isError }
        return failed ? 1 : 0
    }
}
