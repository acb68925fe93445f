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

/// `sandboxer snapshot-rm`: delete a snapshot (idempotent).
struct SnapshotRmCommand: Command {
    static let spec = CommandSpec(name: "snapshot-rm", summary: "Delete a snapshot (idempotent).", arguments: ["SNAP"])

    let invocation: Invocation

    func run() throws(SandboxerError) -> Int32 {
        let service = try openService()
        let done = try service.deleteSnapshot(try service.resolveSnapshot(parsed.arguments[0]))
        if json { emit(done.jsonValue) } else { console.print("\(done.id) \(done.state.rawValue)\n") }
        return 0
    }
}
