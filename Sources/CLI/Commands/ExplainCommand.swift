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

/// `sandboxer explain`: explain why a sandbox is still alive, or why and when it ends (or ended).
struct ExplainCommand: Command {
    static let spec = CommandSpec(name: "explain", summary: "Explain why a sandbox is still alive, or why and when it ends (or ended).",
        arguments: ["ID"],
        discussion: "Its ttl (granted, requested, capped), the cap (ready_at + max), last activity, idle_reap, the\nexpiry warning, the rule that fires first and when, on_expire; for ended sandboxes the reason and\nthe event that recorded it. See docs/ttl.md.")

    let invocation: Invocation

    /// `sandboxer explain ID`: the verdict in one sentence, then the facts behind it.
    func run() throws(SandboxerError) -> Int32 {
        let explanation = try openService().explain(parsed.arguments[0])
        if json { emit(ExplainView.render(explanation)) } else { console.print(ExplainView.text(explanation)) }
        return 0
    }
}
