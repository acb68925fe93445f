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

/// `sandboxer recreate`: replace a sandbox's backend instance, keeping its id, labels and TTL.
struct RecreateCommand: Command {
    static let spec = CommandSpec(name: "recreate", summary: "Replace a sandbox's backend instance, keeping its id, labels and TTL.", arguments: ["ID"],
        options: [.init(name: "from-snapshot", value: "SNAP", help: "Restore this snapshot (id or name) instead of starting fresh.")],
        discussion: "ready_at and expires_at do not change; the idle clock restarts.\nThe old instance is destroyed first; if the new one cannot be made, the sandbox ends failed.")

    let invocation: Invocation

    func run() throws(SandboxerError) -> Int32 {
        let outcome = try openService().recreate(parsed.arguments[0], fromSnapshot: parsed.value("from-snapshot"))
        let s = outcome.sandbox
        if json { emit(s.jsonValue); return 0 }
        console.print("\(s.id)\n")
        let from = s.sourceSnapshot.map { " from snapshot \($0)" } ?? " fresh"
        console.err("recreated \(s.id)\(from); expires \(s.expiresAt.map(RFC3339.format) ?? "-") (unchanged)\n")
        return 0
    }
}
