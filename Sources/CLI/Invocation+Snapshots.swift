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
    func snapshot() throws(SandboxerError) -> Int32 {
        let snap = try openService().snapshot(parsed.arguments[0], name: parsed.value("name"))
        if json { emit(snap.jsonValue); return 0 }
        console.print("\(snap.id)\n")
        console.err("snapshot \(snap.id) of \(snap.sandboxId) taken (\(Self.bytes(snap.sizeBytes ?? 0))).\n")
        return 0
    }

    func snapshots() throws(SandboxerError) -> Int32 {
        let rows = try openService().snapshots(sandboxId: parsed.arguments.first, all: parsed.has("all"))
        if json { emit(.array(rows.map(\.jsonValue))); return 0 }
        var table = Table("ID", "SANDBOX", "NAME", "STATE", "SIZE", "CREATED", "TRIGGER")
        for s in rows {
            table.add(s.id, s.sandboxId, s.name ?? "-", s.state.rawValue, s.sizeBytes.map(Self.bytes) ?? "-",
                      RFC3339.format(s.createdAt), s.trigger.rawValue)
        }
        console.print(table.rendered)
        return 0
    }

    func snapshotRemove() throws(SandboxerError) -> Int32 {
        let service = try openService()
        let done = try service.deleteSnapshot(try service.resolveSnapshot(parsed.arguments[0]))
        if json { emit(done.jsonValue) } else { console.print("\(done.id) \(done.state.rawValue)\n") }
        return 0
    }

    func recreate() throws(SandboxerError) -> Int32 {
        let outcome = try openService().recreate(parsed.arguments[0], fromSnapshot: parsed.value("from-snapshot"))
        let s = outcome.sandbox
        if json { emit(s.jsonValue); return 0 }
        console.print("\(s.id)\n")
        let from = s.sourceSnapshot.map { " from snapshot \($0)" } ?? " fresh"
        console.err("recreated \(s.id)\(from); expires \(s.expiresAt.map(RFC3339.format) ?? "-") (unchanged)\n")
        return 0
    }

    func pruneSnapshots() throws(SandboxerError) -> Int32 {
        let apply = parsed.has("apply")
        let service = try openService()
        let items = try service.pruneSnapshots(apply: apply)
        if json {
            emit(PruneView.render(items, apply: apply, now: service.clock.now()))
        } else if items.isEmpty {
            console.print("Every snapshot is within its retention rules.\n")
        } else {
            var table = Table("SNAPSHOT", "SANDBOX", "PROFILE", "CREATED", "RULE", apply ? "OUTCOME" : "ACTION")
            for item in items {
                let s = item.snapshot
                table.add(s.id, s.sandboxId, s.profile, RFC3339.format(s.createdAt), item.rule.rawValue, item.outcome.text ?? "delete")
            }
            console.print(table.rendered)
            if !apply { console.err("Dry run: nothing was changed. Run 'sandboxer prune-snapshots --apply' to act.\n") }
        }
        return items.contains { $0.outcome.isError } ? 1 : 0
    }

    /// Sizes as people read them: 1.5 MiB.
    static func bytes(_ n: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(n)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(n) B" : String(format: "%.1f %@", value, units[unit])
    }
}
