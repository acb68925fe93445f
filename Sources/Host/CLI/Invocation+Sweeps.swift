import Foundation
import PluginKit

extension Invocation {
    func expire() throws(SandboxerError) -> Int32 {
        let apply = parsed.has("apply")
        let service = try openService()
        let items = try service.expire(apply: apply)
        let failed = items.contains { $0.outcome != nil && $0.outcome != SandboxState.destroyed.rawValue && $0.outcome != "skipped" }
        if json {
            emit(.object([
                "apply": .bool(apply), "now": .string(RFC3339.format(service.clock.now())),
                "items": .array(items.map { item in
                    .object(["id": .string(item.sandbox.id), "profile": .string(item.sandbox.profile),
                             "backend": .string(item.sandbox.backend), "state": .string(item.sandbox.state.rawValue),
                             "rule": .string(item.rule.rawValue), "due_at": .string(RFC3339.format(item.dueAt)),
                             "expires_at": item.sandbox.expiresAt.map { .string(RFC3339.format($0)) } ?? .null,
                             "outcome": item.outcome.map { .string($0) } ?? .null])
                }),
            ]))
        } else if items.isEmpty {
            console.print("Nothing is due.\n")
        } else {
            var table = Table("ID", "PROFILE", "BACKEND", "RULE", "DUE", apply ? "OUTCOME" : "ACTION")
            for item in items {
                table.add(item.sandbox.id, item.sandbox.profile, item.sandbox.backend, item.rule.rawValue,
                          RFC3339.format(item.dueAt), item.outcome ?? "expire, destroy")
            }
            console.print(table.rendered)
            if !apply { console.err("Dry run: nothing was changed. Run 'sandboxer expire --apply' to act.\n") }
        }
        return failed ? 1 : 0
    }

    func reapStale() throws(SandboxerError) -> Int32 {
        let apply = parsed.has("apply")
        let report = try openService().reapStale(apply: apply)
        func orphan(_ o: ReapReport.Orphan) -> JSONValue {
            .object(["backend": .string(o.backend), "backend_ref": .string(o.backendRef),
                     "sandbox_id": o.sandboxId.map { .string($0) } ?? .null,
                     "labels": .object(o.labels.mapValues { .string($0) }), "outcome": o.outcome.map { .string($0) } ?? .null])
        }
        if json {
            emit(.object([
                "apply": .bool(apply), "orphans": .array(report.orphans.map(orphan)),
                "ghosts": .array(report.ghosts.map { g in
                    .object(["id": .string(g.sandbox.id), "backend": .string(g.sandbox.backend),
                             "state": .string(g.sandbox.state.rawValue), "outcome": g.outcome.map { .string($0) } ?? .null])
                }),
                "in_flight": .array(report.inFlight.map { .string($0.id) }),
                "foreign": .array(report.foreign.map(orphan)),
                "errors": .object(report.errors.mapValues { .string($0) }),
            ]))
        } else {
            var table = Table("KIND", "BACKEND", "SANDBOX", "REF", apply ? "OUTCOME" : "ACTION")
            for o in report.orphans { table.add("orphan", o.backend, o.sandboxId ?? "-", o.backendRef, o.outcome ?? "destroy") }
            for g in report.ghosts {
                table.add("ghost", g.sandbox.backend, g.sandbox.id, g.sandbox.backendRef ?? "-", g.outcome ?? "mark failed (backend_vanished)")
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
        let failed = !report.errors.isEmpty || report.orphans.contains { $0.outcome != nil && $0.outcome != "destroyed" }
        return failed ? 1 : 0
    }

    func backendsCommand() throws(SandboxerError) -> Int32 {
        let service = try openService()
        var rows: [JSONValue] = []
        var table = Table("NAME", "PLUGIN", "VERSION", "CAPABILITIES", "STATUS")
        var anyFailed = false
        for name in service.backends.names {
            let path = config.backends[name]?.plugin ?? "-"
            do {
                let b = try service.backends.backend(named: name)
                let version = (b as? Backend)?.plugin.version ?? "-"
                rows.append(.object(["name": .string(name), "plugin": .string(path), "version": .string(version),
                                     "capabilities": .array(b.capabilities.map { .string($0) }), "status": "ok"]))
                table.add(name, path, version, b.capabilities.joined(separator: ","), "ok")
            } catch {
                anyFailed = true
                rows.append(.object(["name": .string(name), "plugin": .string(path), "status": "error",
                                     "error": .string(error.message)]))
                table.add(name, path, "-", "-", "error: \(error.message)")
            }
        }
        if json { emit(.array(rows)) } else { console.print(table.rendered) }
        return anyFailed ? 1 : 0
    }

    func profiles() throws(SandboxerError) -> Int32 {
        let profiles = config.profiles.values.sorted { $0.name < $1.name }
        if json {
            emit(.array(profiles.map { p in
                .object([
                    "name": .string(p.name), "backend": .string(p.backend), "image": p.image.map { .string($0) } ?? .null,
                    "network": .string(p.network), "consumer": p.consumer.map { .string($0) } ?? .null,
                    "ttl": .object(["default": .string(p.ttl.defaultTTL.description), "max": .string(p.ttl.max.description),
                                    "idle_reap": p.ttl.idleReap.map { .string($0.description) } ?? .null]),
                    "resources": .object(["cpus": p.resources.cpus.map { .number($0) } ?? .null,
                                          "memory_bytes": p.resources.memoryBytes.map { .number(Double($0)) } ?? .null,
                                          "pids": p.resources.pids.map { .number(Double($0)) } ?? .null]),
                    "env": .object(p.env.mapValues { .string($0) }), "labels": .object(p.labels.mapValues { .string($0) }),
                ])
            }))
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
        let since = try number("since").map(Int64.init)
        let limit = try number("limit")
        let events = try openService().events(sandboxId: parsed.arguments.first, since: since, limit: limit)
        if json { emit(.array(events.map(\.jsonValue))); return 0 }
        var table = Table("SEQ", "AT", "SANDBOX", "TYPE", "DATA")
        for e in events { table.add(String(e.seq), RFC3339.format(e.at), e.sandboxId, e.type, e.data) }
        console.print(table.rendered)
        return 0
    }
}
