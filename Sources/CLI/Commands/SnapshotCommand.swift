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

/// `sandboxer snapshot`: snapshot a sandbox's writable state.
struct SnapshotCommand: Command {
    static let spec = CommandSpec(name: "snapshot", summary: "Snapshot a sandbox's writable state.", arguments: ["ID"],
        options: [.init(name: "name", value: "NAME", help: "Name the snapshot (1-63 of a-z A-Z 0-9 . _ -).")],
        discussion: "The sandbox keeps running; its processes are paused while the state is captured.\nPrints the snapshot id.")

    let invocation: Invocation

    func run() throws(SandboxerError) -> Int32 {
        let snap = try openService().snapshot(parsed.arguments[0], name: parsed.value("name"))
        if json { emit(snap.jsonValue); return 0 }
        console.print("\(snap.id)\n")
        console.err("snapshot \(snap.id) of \(snap.sandboxId) taken (\(Invocation.bytes(snap.sizeBytes ?? 0))).\n")
        return 0
    }
}
