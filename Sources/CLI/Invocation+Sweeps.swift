import Foundation
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

extension Invocation {
    func expire() throws(SandboxerError) -> Int32 {
        let apply = parsed.has("apply")
        let service = try openService()
        let items = try service.expire(apply: apply)
        let failed = items.contains { $0.outcome.isError }
        if json {
            emit(ExpiryView.render(items, apply: apply, now: service.clock.now()))
        } else if items.isEmpty {
            console.print("Nothing is due.\n")
        } else {
            var table = Table("ID", "PROFILE", "BACKEND", "RULE", "DUE", apply ? "OUTCOME" : "ACTION")
            for item in items {
                table.add(item.sandbox.id, item.sandbox.profile, item.sandbox.backend, item.rule.rawValue,
                          RFC3339.format(item.dueAt), item.outcome.text.map { outcome in
                              item.snapshotId.map { "\(outcome) (snapshot \($0))" } ?? outcome
                          } ?? (item.onExpire == .snapshot ? "expire, snapshot, destroy" : "expire, destroy"))
            }
            console.print(table.rendered)
            if !apply { console.err("Dry run: nothing was changed. Run 'sandboxer expire --apply' to act.\n") }
        }
        return failed ? 1 : 0
    }

    func reapStale() throws(SandboxerError) -> Int32 {
        let apply = parsed.has("apply")
        let report = try openService().reapStale(apply: apply)
        if json {
            emit(ReapView.render(report, apply: apply))
        } else {
            var table = Table("KIND", "BACKEND", "SANDBOX", "REF", apply ? "OUTCOME" : "ACTION")
            for o in report.orphans { table.add("orphan", o.backend, o.sandboxId ?? "-", o.backendRef, o.outcome.text ?? "destroy") }
            for g in report.ghosts {
                table.add("ghost", g.sandbox.backend, g.sandbox.id, g.sandbox.backendRef ?? "-", g.outcome.text ?? "mark failed (backend_vanished)")
            }
            for s in report.inFlight { table.add("in-flight", s.backend, s.id, s.backendRef ?? "-", "leave (create in flight)") }
            for o in report.foreign { table.add("foreign", o.backend, o.sandboxId ?? "-", o.backendRef, "leave (labels do not prove ownership)") }
            if table.rows.isEmpty { console.print("Backends and store agree: nothing stale.\n") } else { console.print(table.rendered) }
            for (backend, message) in report.errors.sorted(by: { $0.key < $1.key }) {
                console.err("sandboxer: inventory of \(backend) failed: \(message)\n")
            }
            if !apply && !(report.orphans.isEmpty && report.ghosts.isEmpty) {
                console.err("Dry run: nothing was changed. Run 'sandboxer reap-stale --apply' to act.\n")
            }
        }
        let failed = !report.errors.isEmpty || report.orphans.contains { $0.outcome.isError }
        return failed ? 1 : 0
    }

    func backendsCommand() throws(SandboxerError) -> Int32 {
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

    func profiles() throws(SandboxerError) -> Int32 {
        let profiles = config.profiles.values.sorted { $0.name < $1.name }
        if json {
            emit(.array(profiles.map(ProfileView.render)))
            return 0
        }
        var table = Table("NAME", "BACKEND", "IMAGE", "TTL", "MAX", "IDLE", "NETWORK", "CONSUMER")
        for p in profiles {
            table.add(p.name, p.backend, p.image ?? "-", p.ttl.defaultTTL.description, p.ttl.max.description,
                      p.ttl.idleReap?.description ?? "-", p.network, p.consumer ?? "-")
        }
        console.print(table.rendered)
        return 0
    }

    func events() throws(SandboxerError) -> Int32 {
        func number(_ name: String) throws(SandboxerError) -> Int? {
            guard let text = parsed.value(name) else { return nil }
            guard let n = Int(text), n >= 0 else { throw ParsedCommand.usage(parsed.spec, "'--\(name)' takes a whole number, got '\(text)'.") }
            return n
        }
        if parsed.has("failed") {
            guard !parsed.has("follow"), parsed.value("since") == nil, parsed.value("limit") == nil, parsed.arguments.isEmpty else {
                throw ParsedCommand.usage(parsed.spec, "'--failed' lists dead webhook deliveries; it takes only '--sink'.")
            }
            return try webhookFailures()
        }
        if parsed.value("sink") != nil { throw ParsedCommand.usage(parsed.spec, "'--sink' goes with '--failed'.") }
        let since = try number("since").map(Int64.init)
        let limit = try number("limit")
        if parsed.has("follow") {
            guard limit == nil else { throw ParsedCommand.usage(parsed.spec, "'--limit' cannot be combined with '--follow'.") }
            return try followEvents(sandboxId: parsed.arguments.first, since: since)
        }
        let events = try openService().events(sandboxId: parsed.arguments.first, since: since, limit: limit)
        if json { emit(.array(events.map(\.jsonValue))); return 0 }
        var table = Table("SEQ", "AT", "SANDBOX", "TYPE", "DATA")
        for e in events { table.add(String(e.seq), RFC3339.format(e.at), e.sandboxId, e.type, e.data.jsonText) }
        console.print(table.rendered)
        return 0
    }
}
