import FoundationEssentials
import Glibc
import Core
import Config
import Store
import Backends
import PluginProtocol
import Basics

/// One line of a snapshot retention plan: which snapshot, which rule, and (with apply) what happened.
public struct PruneItem: Sendable {
    public var snapshot: Snapshot
    /// `retention_keep` (more than `keep` newer ones) or `retention_max_age` (older than `max_age`).
    public var rule: SnapshotDeletion
    /// With apply: deleted, or the error.
    public var outcome: SweepOutcome = .planned
}

extension SandboxService {
    /// Lists the ready snapshots that their profile's `snapshots: {keep, max_age}` no longer keeps;
    /// with `apply`, deletes them. Per source sandbox, the newest `keep` stay (older ones go, rule
    /// `retention_keep`); of those, any older than `max_age` goes too (rule `retention_max_age`).
    /// Snapshots whose profile is gone from the config, or has no rules, are kept.
    public func pruneSnapshots(apply: Bool) throws(SandboxerError) -> [PruneItem] {
        let at = now
        let ready = try storeCall { () throws(StoreError) in try store.snapshots(SnapshotFilter(states: [.ready])) }
        var items = Self.retentionPlan(ready, profiles: config.profiles, now: at)
        guard apply else { return items }
        for index in items.indices {
            do {
                let done = try deleteSnapshot(items[index].snapshot, reason: items[index].rule)
                items[index].snapshot = done
                // deleteSnapshot only returns once the snapshot is deleted; anything else is someone else's change.
                items[index].outcome = done.state == .deleted ? .deleted : .skipped
            } catch {
                items[index].outcome = .error(error.message)
            }
        }
        return items
    }

    /// The retention rules as a pure function: `snapshots` newest first, as the store lists them.
    static func retentionPlan(_ snapshots: [Snapshot], profiles: [String: Profile], now: Date) -> [PruneItem] {
        var seen: [String: Int] = [:]   // sandbox id → ready snapshots already kept
        var plan: [PruneItem] = []
        for snap in snapshots where snap.state == .ready {
            guard let rules = profiles[snap.profile]?.snapshots else { continue }
            let rank = seen[snap.sandboxId, default: 0]
            seen[snap.sandboxId] = rank + 1
            if let keep = rules.keep, rank >= keep {
                plan.append(PruneItem(snapshot: snap, rule: .retentionKeep))
            } else if let maxAge = rules.maxAge, now.timeIntervalSince(snap.createdAt) >= Double(maxAge.seconds) {
                plan.append(PruneItem(snapshot: snap, rule: .retentionMaxAge))
            }
        }
        return plan
    }
}
