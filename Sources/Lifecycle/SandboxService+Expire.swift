import FoundationEssentials
import Glibc
import Core
import Config
import Store
import Backends
import PluginProtocol
import Basics

/// One line of an expiry plan: which sandbox, which rule, and (with --apply) what happened.
public struct ExpiryItem: Sendable {
    public var sandbox: Sandbox
    /// The rule that matched: ttl, ttl_max or idle.
    public var rule: TerminationReason
    /// When the rule fired.
    public var dueAt: Date
    /// With apply: destroyed, skipped (changed concurrently) or the error.
    public var outcome: SweepOutcome = .planned
    /// What the sweep does before destroying: the profile's `on_expire`.
    public var onExpire: Profile.OnExpire = .destroy
    /// With apply and `on_expire: snapshot`: the snapshot taken before the destroy.
    public var snapshotId: String?
    /// With apply and `on_expire: snapshot`: why no snapshot could be taken (the sandbox was destroyed anyway).
    public var snapshotError: String?
}

extension SandboxService {
    /// How many expired sandboxes one sweep tears down at once.
    static let expireParallelism = 8

    /// Lists sandboxes past their deadline or idle past `idle_reap`; with `apply`, marks each
    /// expired then destroys it, and sends the expiry warnings that are due. A second apply finds
    /// nothing left to do.
    public func expire(apply: Bool, limit: Int? = nil) throws(SandboxerError) -> [ExpiryItem] {
        let at = now
        let due = try storeCall { () throws(StoreError) in try store.due(at: at, limit: limit) }
        var items = due.compactMap { s -> ExpiryItem? in
            TTLRules.dueRule(s, now: at).map {
                ExpiryItem(sandbox: s, rule: $0.reason, dueAt: $0.dueAt, onExpire: config.profiles[s.profile]?.onExpire ?? .destroy)
            }
        }
        guard apply else { return items }
        // Teardowns run side by side (bounded): each waits mostly on its backend, and a sweep of 100
        // due sandboxes must not take 100 destroys end to end. Each item is its own transaction.
        let owner = ProcessIdentity.current()
        items = BoundedParallel.map(items, width: Self.expireParallelism) { [self] original in
            var item = original
            var machine = SandboxMachine(item.sandbox)
            do throws(SandboxerError) {
                _ = try machine.expire(item.rule, owner: owner, at: now)
                guard try commit(machine) else { item.outcome = .skipped; return item }
                FaultPoint.reach("expire.after-mark")
                try finishExpired(machine.sandbox, item: &item)
                FaultPoint.reach("expire.after-sandbox")
            } catch {
                item.outcome = .error(error.message)
            }
            return item
        }
        // Expired rows a crashed sweep left behind are finished too.
        let leftovers = try list(SandboxFilter(states: [.expired]))
        for s in leftovers {
            var item = ExpiryItem(sandbox: s, rule: s.reason ?? .ttl, dueAt: s.expiresAt ?? s.updatedAt,
                                  onExpire: config.profiles[s.profile]?.onExpire ?? .destroy)
            do { try finishExpired(s, item: &item) } catch { item.outcome = .error(error.message) }
            items.append(item)
        }
        // Then the expiry warnings (applying only: a warning is an event, and a dry run changes
        // nothing). Best effort: a failure leaves warn_at set, so the next sweep sends it.
        _ = try? sendExpiryWarnings()
        return items
    }

    /// Finishes an `expired` row whose expiring process is gone (the reconcile's part): the snapshot its
    /// profile's `on_expire` asks for, then the destroy, as the sweep would have done.
    func finishInterruptedExpiry(_ sandbox: Sandbox) throws(SandboxerError) -> Sandbox {
        var item = ExpiryItem(sandbox: sandbox, rule: sandbox.reason ?? .ttl, dueAt: sandbox.expiresAt ?? sandbox.updatedAt,
                              onExpire: config.profiles[sandbox.profile]?.onExpire ?? .destroy)
        try finishExpired(sandbox, item: &item)
        return item.sandbox
    }

    /// Destroys an expired sandbox, first taking the snapshot its profile's `on_expire` asks for.
    /// A snapshot that fails does not keep the sandbox alive: the TTL is a promise; the error is recorded.
    private func finishExpired(_ sandbox: Sandbox, item: inout ExpiryItem) throws(SandboxerError) {
        var data: EventData = [:]
        if item.onExpire == .snapshot {
            // A sweep that crashed after its snapshot must not take a second one.
            let earlier = try storeCall { () throws(StoreError) in
                try store.snapshots(SnapshotFilter(sandboxId: sandbox.id, states: [.ready])).first { $0.trigger == .onExpire }
            }
            if let earlier {
                item.snapshotId = earlier.id
            } else {
                do { item.snapshotId = try takeSnapshot(of: sandbox, name: nil, trigger: .onExpire).id }
                catch { item.snapshotError = error.message }
            }
            if let id = item.snapshotId { data["snapshot_id"] = .string(id) }
            if let message = item.snapshotError { data["snapshot_error"] = .string(message) }
        }
        item.sandbox = try finishDestroy(sandbox, reason: item.rule, eventData: data)
        // Not destroyed: another process moved the row meanwhile (it marked it failed, say), and its change stands.
        item.outcome = item.sandbox.state == .destroyed ? .destroyed : .skipped
    }
}
