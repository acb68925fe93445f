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

/// `sandboxer list`: list sandboxes.
struct ListCommand: Command {
    static let spec = CommandSpec(name: "list", summary: "List sandboxes.",
        options: [.init(name: "state", value: "STATE", repeatable: true, help: "Only this state (repeatable; 'live' = ready and active)."),
        .init(name: "backend", value: "NAME", help: "Only this backend."),
        .init(name: "profile", value: "NAME", help: "Only this profile."),
        .init(name: "label", value: "KEY=VALUE", repeatable: true, help: "Only sandboxes with this label (repeatable)."),
        .init(name: "all", help: "Include destroyed and failed sandboxes (default: hidden unless --state names them).")])

    let invocation: Invocation

    func run() throws(SandboxerError) -> Int32 {
        var states: Set<SandboxState>? = nil
        for word in parsed.all("state") {
            if word == "live" { states = (states ?? []).union(SandboxState.live); continue }
            guard let s = SandboxState(rawValue: word) else {
                throw ParsedCommand.usage(parsed.spec, "Unknown state '\(word)' (states: \(SandboxState.allCases.map(\.rawValue).joined(separator: ", ")), live).")
            }
            states = (states ?? []).union([s])
        }
        if states == nil && !parsed.has("all") { states = Set(SandboxState.allCases.filter { !$0.isTerminal }) }
        let service = try openService()
        let rows = try service.list(SandboxFilter(states: states, backend: parsed.value("backend"),
                                                  profile: parsed.value("profile"), labels: try keyValues("label")))
        if json { emit(.array(rows.map(\.jsonValue))); return 0 }
        var table = Table("ID", "PROFILE", "BACKEND", "STATE", "TTL", "EXPIRES", "LABELS")
        for s in rows {
            table.add(s.id, s.profile, s.backend, s.state.rawValue, DurationText.format(s.ttlSeconds),
                      s.expiresAt.map(RFC3339.format) ?? "-",
                      s.labels.keys.sorted().map { "\($0)=\(s.labels[$0]!)" }.joined(separator: ","))
        }
        console.print(table.rendered)
        return 0
    }
}
