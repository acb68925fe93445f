import FoundationEssentials
import Glibc
import Core
import Config
import Store
import Backends
import PluginProtocol
import Basics

// JSON shapes both fronts print, so the CLI's --json and the HTTP API always agree.

/// An expiry plan or its outcome.
package enum ExpiryView {
    package static func render(_ items: [ExpiryItem], apply: Bool, now: Date) -> JSONValue {
        .object([
            "apply": .bool(apply), "now": .string(RFC3339.format(now)),
            "items": .array(items.map { item in
                .object(["id": .string(item.sandbox.id), "profile": .string(item.sandbox.profile),
                         "backend": .string(item.sandbox.backend), "state": .string(item.sandbox.state.rawValue),
                         "rule": .string(item.rule.rawValue), "due_at": .string(RFC3339.format(item.dueAt)),
                         "expires_at": item.sandbox.expiresAt.map { .string(RFC3339.format($0)) } ?? .null,
                         "outcome": item.outcome.jsonValue,
                         "on_expire": .string(item.onExpire.rawValue),
                         "snapshot_id": item.snapshotId.map { .string($0) } ?? .null,
                         "snapshot_error": item.snapshotError.map { .string($0) } ?? .null])
            }),
        ])
    }
}

/// A reap-stale report.
package enum ReapView {
    static func orphan(_ o: ReapReport.Orphan) -> JSONValue {
        .object(["backend": .string(o.backend), "backend_ref": .string(o.backendRef),
                 "sandbox_id": o.sandboxId.map { .string($0) } ?? .null,
                 "labels": .object(o.labels.mapValues { .string($0) }), "outcome": o.outcome.jsonValue])
    }

    package static func render(_ report: ReapReport, apply: Bool) -> JSONValue {
        .object([
            "apply": .bool(apply), "orphans": .array(report.orphans.map(orphan)),
            "ghosts": .array(report.ghosts.map { g in
                .object(["id": .string(g.sandbox.id), "backend": .string(g.sandbox.backend),
                         "state": .string(g.sandbox.state.rawValue), "outcome": g.outcome.jsonValue])
            }),
            "in_flight": .array(report.inFlight.map { .string($0.id) }),
            "stuck": .array(report.stuck.map { s in
                .object(["id": .string(s.sandbox.id), "backend": .string(s.sandbox.backend),
                         "state": .string(s.sandbox.state.rawValue),
                         "owner_pid": s.sandbox.request.owner.map { .number(Double($0.pid)) } ?? .null,
                         "outcome": s.outcome.jsonValue])
            }),
            "foreign": .array(report.foreign.map(orphan)),
            "errors": .object(report.errors.mapValues { .string($0) }),
            "unreachable": .array(report.unreachable.map { u in
                .object(["backend": .string(u.backend), "scope": .string(u.scope), "message": .string(u.message),
                         "sandboxes": .array(u.sandboxIds.map { .string($0) })])
            }),
        ])
    }
}

/// The enabled backends, each loaded to learn its version and capabilities.
package enum BackendView {
    package static func describeAll(_ service: SandboxService) -> [JSONValue] {
        service.backends.names.map { name in
            let path = service.config.backends[name]?.plugin ?? ""
            do throws(SandboxerError) {
                let b = try service.backends.backend(named: name)
                return .object(["name": .string(name), "plugin": .string(path),
                                "version": .string((b as? Backend)?.plugin.version ?? ""),
                                "capabilities": .array(b.capabilities.map { .string($0) }), "status": "ok", "error": .null])
            } catch {
                return .object(["name": .string(name), "plugin": .string(path), "version": .null, "capabilities": .array([]),
                                "status": "error", "error": .string(error.message)])
            }
        }
    }
}

/// One profile.
package enum ProfileView {
    package static func render(_ p: Profile) -> JSONValue {
        .object([
            "name": .string(p.name), "backend": .string(p.backend), "image": p.image.map { .string($0) } ?? .null,
            "network": .string(p.network), "consumer": p.consumer.map { .string($0) } ?? .null,
            "ttl": .object(["default": .string(p.ttl.defaultTTL.description), "max": .string(p.ttl.max.description),
                            "idle_reap": p.ttl.idleReap.map { .string($0.description) } ?? .null,
                            "expiry_warning": p.ttl.expiryWarning.map { .string($0.description) } ?? .null]),
            "on_expire": .string(p.onExpire.rawValue),
            "snapshots": .object(["keep": p.snapshots.keep.map { .number(Double($0)) } ?? .null,
                                  "max_age": p.snapshots.maxAge.map { .string($0.description) } ?? .null]),
            "resources": .object(["cpus": p.resources.cpus.map { .number($0) } ?? .null,
                                  "memory_bytes": p.resources.memoryBytes.map { .number(Double($0)) } ?? .null,
                                  "pids": p.resources.pids.map { .number(Double($0)) } ?? .null,
                                  "disk_bytes": p.resources.diskBytes.map { .number(Double($0)) } ?? .null]),
            "env": .object(p.env.mapValues { .string($0) }), "labels": .object(p.labels.mapValues { .string($0) }),
            "extends": p.extends.map { .string($0) } ?? .null,
            "reach": .object(Dictionary(uniqueKeysWithValues: p.reach.map {
                ($0.name, JSONValue.object(["port": .number(Double($0.port)), "kind": .string($0.kind.rawValue)]))
            })),
            "network_options": p.networkOptions.map(networkOptions) ?? .null,
        ])
    }

    static func networkOptions(_ o: CreateNetworkOptions) -> JSONValue {
        .object([
            "egress": o.egress.map { .string($0) } ?? .null, "allow_sandboxes": o.allowSandboxes.map { .bool($0) } ?? .null,
            "publish": .array((o.publish ?? []).map { p in
                .object(["target_port": .number(Double(p.targetPort)), "host_port": p.hostPort.map { .number(Double($0)) } ?? .null,
                         "host_address": p.hostAddress.map { .string($0) } ?? .null])
            }),
        ])
    }
}

/// A snapshot retention plan or its outcome.
package enum PruneView {
    package static func render(_ items: [PruneItem], apply: Bool, now: Date) -> JSONValue {
        .object([
            "apply": .bool(apply), "now": .string(RFC3339.format(now)),
            "items": .array(items.map { item in
                .object(["snapshot": item.snapshot.jsonValue, "rule": .string(item.rule.rawValue),
                         "outcome": item.outcome.jsonValue])
            }),
        ])
    }
}
