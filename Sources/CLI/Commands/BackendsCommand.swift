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

/// `sandboxer backends`: list the enabled backends and their plugins.
struct BackendsCommand: Command {
    static let spec = CommandSpec(name: "backends", summary: "List the enabled backends and their plugins.")

    let invocation: Invocation

    func run() throws(SandboxerError) -> Int32 {
        let rows = BackendView.describeAll(try openService())
        let failed = rows.contains { $0["status"]?.stringValue != "ok" }
        if json { emit(.array(rows)); return failed ? 1 : 0 }
        var table = Table("NAME", "PLUGIN", "VERSION", "CAPABILITIES", "STATUS")
        for row in rows {
            let caps = row["capabilities"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ",") ?? ""
            table.add(row["name"]?.stringValue ?? "", row["plugin"]?.stringValue ?? "", row["version"]?.stringValue ?? "-",
                      caps.isEmpty ? "-" : caps, row["error"]?.stringValue.map { "error: \($0)" } ?? "ok")
        }
        console.print(table.rendered)
        return failed ? 1 : 0
    }
}
