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

/// `sandboxer destroy`: destroy a sandbox (idempotent).
struct DestroyCommand: Command {
    static let spec = CommandSpec(name: "destroy", summary: "Destroy a sandbox (idempotent).", arguments: ["ID"])

    let invocation: Invocation

    func run() throws(SandboxerError) -> Int32 {
        let s = try openService().destroy(parsed.arguments[0])
        if json { emit(s.jsonValue) } else { console.print("\(s.id) \(s.state.rawValue) (\(s.reason?.rawValue ?? "manual"))\n") }
        return 0
    }
}
