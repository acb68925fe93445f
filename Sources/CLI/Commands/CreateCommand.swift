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

/// `sandboxer create`: create a sandbox from a profile.
struct CreateCommand: Command {
    static let spec = CommandSpec(name: "create", summary: "Create a sandbox from a profile.",
        options: [.init(name: "profile", value: "NAME", help: "Profile to create from (default: default)."),
        .init(name: "ttl", value: "DURATION", help: "Time to live, e.g. 30m, 4h, 1d (default: the profile's; capped at its max)."),
        .init(name: "label", value: "KEY=VALUE", repeatable: true, help: "Label the sandbox (repeatable)."),
        .init(name: "idempotency-key", value: "KEY", help: "A retried create with the same key returns the same sandbox."),
        .init(name: "from-snapshot", value: "SNAP", help: "Start from this snapshot's state (id or name; default profile: the snapshot's)."),
        .init(name: "no-build", help: "For a profile with a build: fail (exit 1) if its image is not built yet, instead of building it.")],
        discussion: "The TTL starts when the sandbox is ready: expires_at = ready_at + ttl.")

    let invocation: Invocation

    func run() throws(SandboxerError) -> Int32 {
        let service = try openService()
        var options = CreateOptions(
            profile: parsed.value("profile"), ttl: parsed.value("ttl"),
            labels: try keyValues("label"), idempotencyKey: parsed.value("idempotency-key"),
            fromSnapshot: parsed.value("from-snapshot"))
        options.noBuild = parsed.has("no-build")
        let printer = BuildProgressPrinter(console: console, label: "build \(options.profile ?? "default")", environment: environment)
        options.buildProgress = printer.callback
        let outcome: CreateOutcome
        do { outcome = try service.create(options) } catch { printer.finish(); throw error }
        printer.finish()
        if json {
            var object = outcome.sandbox.jsonValue.objectValue ?? [:]
            object["ttl_capped"] = .bool(outcome.capped)
            object["requested_ttl"] = .string(DurationText.format(outcome.requestedTTLSeconds))
            emit(.object(object))
        } else {
            let s = outcome.sandbox
            console.print("\(s.id)\n")
            let from = s.sourceSnapshot.map { " from snapshot \($0)" } ?? ""
            console.err("created \(s.id)\(from) on \(s.backend) (profile \(s.profile)); expires \(s.expiresAt.map(RFC3339.format) ?? "-") (ttl \(DurationText.format(s.ttlSeconds)))\n")
            if outcome.capped {
                console.err("note: the requested ttl \(DurationText.format(outcome.requestedTTLSeconds)) was capped at the profile's max \(DurationText.format(s.maxTTLSeconds)).\n")
            }
        }
        return 0
    }
}
