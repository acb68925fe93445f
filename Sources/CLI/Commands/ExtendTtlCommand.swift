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

/// `sandboxer extend-ttl`: extend a sandbox's time to live.
struct ExtendTtlCommand: Command {
    static let spec = CommandSpec(name: "extend-ttl", summary: "Extend a sandbox's time to live.", arguments: ["ID"],
        options: [.init(name: "duration", value: "DURATION", help: "How much longer, e.g. 2h (required).")],
        discussion: "Adds to the current expires_at (or to now, if that is past); the total lifetime from ready_at never exceeds the profile's max.")

    let invocation: Invocation

    func run() throws(SandboxerError) -> Int32 {
        guard let duration = parsed.value("duration") else {
            throw ParsedCommand.usage(parsed.spec, "'extend-ttl' needs --duration, for example --duration 2h.")
        }
        let who = Invocation.cliActor()
        let outcome = try openService().extendTTL(parsed.arguments[0], duration: duration, by: who)
        if json {
            var object = outcome.sandbox.jsonValue.objectValue ?? [:]
            object["extended_from"] = .string(RFC3339.format(outcome.from))
            object["extended_to"] = .string(RFC3339.format(outcome.to))
            object["ttl_capped"] = .bool(outcome.capped)
            emit(.object(object))
        } else {
            console.print("\(outcome.sandbox.id) expires \(RFC3339.format(outcome.to)) (was \(RFC3339.format(outcome.from)))\n")
            if outcome.capped { console.err("note: capped at the profile's max lifetime \(DurationText.format(outcome.sandbox.maxTTLSeconds)).\n") }
        }
        if let warning = outcome.backstopWarning { console.err("warning: \(warning)\n") }
        return 0
    }
}
