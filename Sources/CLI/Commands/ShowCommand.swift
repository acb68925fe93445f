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

/// `sandboxer show`: show one sandbox.
struct ShowCommand: Command {
    static let spec = CommandSpec(name: "show", summary: "Show one sandbox.", arguments: ["ID"])

    let invocation: Invocation

    func run() throws(SandboxerError) -> Int32 {
        let s = try openService().get(parsed.arguments[0])
        if json { emit(s.jsonValue); return 0 }
        guard case .object(let fields) = s.jsonValue else { return 1 }
        var table = Table("FIELD", "VALUE")
        for key in fields.keys.sorted() {
            let value: String
            switch fields[key]! {
            case .string(let v): value = v
            case .null: value = "-"
            case .number(let n): value = String(Int64(n))
            case .object(let o):
                // Labels are strings; a backend's info may hold any JSON, shown compact.
                value = o.keys.sorted().map { key in
                    "\(key)=\(o[key]?.stringValue ?? o[key]!.rendered(pretty: false).trimmingNewlines())"
                }.joined(separator: ",")
            default: value = fields[key]!.rendered(pretty: false).trimmed()
            }
            table.add(key, value)
        }
        console.print(table.rendered)
        return 0
    }
}
