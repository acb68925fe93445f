import FoundationEssentials
import Glibc
import Core
import Config
import Store
import Backends
import PluginProtocol
import Basics

extension SandboxService {
    /// Captures the writable state of a live (or just expired) sandbox. The intent (a `creating` row)
    /// is written before the backend is called; `snapshot_created` is appended with the outcome.
    public func snapshot(_ id: String, name: String? = nil, trigger: SnapshotTrigger = .manual) throws(SandboxerError) -> Snapshot {
        if let name { try SnapshotID.validateName(name) }
        return try takeSnapshot(of: try get(id), name: name, trigger: trigger)
    }

    func takeSnapshot(of sandbox: Sandbox, name: String?, trigger: SnapshotTrigger) throws(SandboxerError) -> Snapshot {
        let allowed: Set<SandboxState> = trigger == .onExpire ? [.ready, .active, .expired] : SandboxState.live
        guard allowed.contains(sandbox.state), let ref = sandbox.backendRef else {
            throw SandboxerError(.conflict, "Sandbox \(sandbox.id) is \(sandbox.state.rawValue); only ready or active sandboxes can be snapshotted.")
        }
        let backend = try snapshotBackend(sandbox.backend)
        let owner = ProcessIdentity.current()
        let at = now
        var snap = Snapshot(id: SnapshotID.make(), sandboxId: sandbox.id, backend: sandbox.backend, profile: sandbox.profile,
                            name: name, state: .creating, createdAt: at, updatedAt: at, trigger: trigger,
                            owner: sandbox.labels[SandboxLabels.owner], hostId: hostId,
                            intent: SnapshotIntent(owner: owner))
        try storeCall { () throws(StoreError) in try store.insert(snap, events: []) }
        FaultPoint.reach("snapshot.after-intent")
        let request = SnapshotRequest(sandboxId: sandbox.id, backendRef: ref, snapshotId: snap.id,
                                      labels: ownershipLabels(sandbox))
        let response: SnapshotResponse
        do {
            response = try backend.snapshot(request, timeout: backends.timeouts.snapshot)
        } catch {
            snap.state = .failed
            snap.message = error.message
            snap.updatedAt = now
            _ = try? storeCall { () throws(StoreError) in try store.update(snap, expecting: [.creating], events: []) }
            throw error.hostError
        }
        FaultPoint.reach("snapshot.after-backend")
        snap.state = .ready
        snap.backendRef = response.snapshotRef
        snap.sizeBytes = response.sizeBytes
        snap.updatedAt = now
        var data: EventData = ["snapshot_id": .string(snap.id), "size_bytes": .number(Double(response.sizeBytes)),
                               "trigger": .string(trigger.rawValue)]
        if let name { data["name"] = .string(name) }
        let event = SandboxEvent(sandboxId: sandbox.id, type: .snapshotCreated, at: snap.updatedAt, data: data)
        FaultPoint.reach("snapshot.before-commit")
        guard try storeCall({ () throws(StoreError) in try store.update(snap, expecting: [.creating], events: [event]) }) else {
            // Reconciliation took the row for an interrupted capture meanwhile; the bytes must not leak.
            _ = try? backend.deleteSnapshot(DeleteSnapshotRequest(snapshotId: snap.id, snapshotRef: response.snapshotRef),
                                            timeout: backends.timeouts.snapshot)
            throw SandboxerError(.conflict, "Snapshot \(snap.id) changed while it was being taken; it was removed.")
        }
        return snap
    }

    /// The backend `name`, which must declare `sandboxer.snapshot/1`.
    func snapshotBackend(_ name: String) throws(SandboxerError) -> any SandboxBackend {
        let backend = try backends.backend(named: name)
        guard backend.supports(Capability.snapshot) else {
            throw SandboxerError(.invalidArgument, "Backend \(name) does not support snapshots (it does not declare \(Capability.snapshot)).")
        }
        return backend
    }

    /// Snapshots, newest first. Deleted and failed ones only when `all`.
    public func snapshots(sandboxId: String? = nil, owner: String? = nil, all: Bool = false) throws(SandboxerError) -> [Snapshot] {
        let states: Set<SnapshotState>? = all ? nil : [.creating, .ready, .deleting]
        let rows = try storeCall { () throws(StoreError) in
            try store.snapshots(SnapshotFilter(sandboxId: sandboxId, states: states, owner: owner))
        }
        // An unknown sandbox is an error; a sandbox without snapshots is an empty list.
        if let sandboxId, rows.isEmpty { _ = try get(sandboxId) }
        return rows
    }

    /// The snapshot named by `ref`: its id, or a name that exactly one ready snapshot carries.
    /// `owner` limits the search to one consumer's snapshots.
    public func resolveSnapshot(_ ref: String, owner: String? = nil) throws(SandboxerError) -> Snapshot {
        if SnapshotID.isWellFormed(ref) {
            guard let snap = try storeCall({ () throws(StoreError) in try store.snapshot(id: ref) }),
                  owner == nil || snap.owner == owner else {
                throw SandboxerError(.notFound, "No snapshot with id '\(ref)'.")
            }
            return snap
        }
        let named = try storeCall { () throws(StoreError) in
            try store.snapshots(SnapshotFilter(states: [.ready], owner: owner, name: ref))
        }
        switch named.count {
        case 1: return named[0]
        case 0: throw SandboxerError(.notFound, "No snapshot with id or name '\(ref)': snapshot ids look like snap-0123456789abcdef.")
        default:
            throw SandboxerError(.conflict, "The name '\(ref)' is carried by \(named.count) snapshots (\(named.map(\.id).joined(separator: ", "))); use an id.")
        }
    }

    /// Deletes a snapshot on its backend, then marks it deleted. Idempotent: a deleted snapshot is
    /// returned as it is, and a backend `not_found` counts as done.
    public func deleteSnapshot(_ snap: Snapshot, reason: SnapshotDeletion = .manual) throws(SandboxerError) -> Snapshot {
        var current = snap
        switch current.state {
        case .deleted:
            return current
        case .creating:
            throw SandboxerError(.conflict, "Snapshot \(snap.id) is still being taken; delete it once it is ready.")
        case .ready, .failed:
            let from = current.state
            current.state = .deleting
            current.deletedReason = reason
            current.updatedAt = now
            // From here the deleting process answers for the row: if it dies, a reconcile finishes at once.
            current.intent.owner = ProcessIdentity.current()
            guard try storeCall({ () throws(StoreError) in try store.update(current, expecting: [from], events: []) }) else {
                return try deleteSnapshot(try resolveSnapshot(snap.id), reason: reason)
            }
        case .deleting:
            break
        }
        FaultPoint.reach("snapshot-delete.after-intent")
        let backend = try backends.backend(named: current.backend)
        do {
            try backend.deleteSnapshot(DeleteSnapshotRequest(snapshotId: current.id, snapshotRef: current.backendRef ?? current.id),
                                       timeout: backends.timeouts.snapshot)
        } catch where error.code == .notFound {
            // Already gone: that is what delete wants.
        } catch {
            throw error.hostError
        }
        FaultPoint.reach("snapshot-delete.after-backend")
        let deletedReason = current.deletedReason ?? reason
        current.state = .deleted
        current.updatedAt = now
        let event = SandboxEvent(sandboxId: current.sandboxId, type: .snapshotDeleted, at: current.updatedAt,
                                 data: ["snapshot_id": .string(current.id), "reason": .string(deletedReason.rawValue)])
        _ = try storeCall { () throws(StoreError) in try store.update(current, expecting: [.deleting], events: [event]) }
        return current
    }

    /// Whether a `deleting` snapshot has nobody left to finish it: the process named in its intent is
    /// gone (a zombie counts as gone), or it is this process and the delete call's deadline (plus
    /// slack) has passed. A row naming no process (written before deletes recorded one) keeps the old
    /// rule: abandoned after 10 s.
    func isInterruptedDelete(_ snap: Snapshot) -> Bool {
        let age = now.timeIntervalSince(snap.updatedAt)
        guard let owner = snap.intent.owner, owner.pid > 0 else { return age > 10 }
        if owner == ProcessIdentity.current() {
            return age > backends.timeouts.snapshot + Self.abandonedDestroySlackSeconds
        }
        return !owner.isAlive
    }

    /// Finishes snapshot work a crashed process left behind: a capture whose process died is marked
    /// failed and its bytes removed; a delete that stopped half-way is completed.
    @discardableResult
    public func reconcileInterruptedSnapshots() throws(SandboxerError) -> [Snapshot] {
        let pending = try storeCall { () throws(StoreError) in try store.snapshots(SnapshotFilter(states: [.creating, .deleting])) }
        var touched: [Snapshot] = []
        for var snap in pending {
            if snap.state == .deleting {
                guard isInterruptedDelete(snap) else { continue }
                if let done = try? deleteSnapshot(snap, reason: snap.deletedReason ?? .manual) { touched.append(done) }
                continue
            }
            let owner = snap.intent.owner ?? ProcessIdentity(pid: 0, startTime: 0)
            guard owner.pid <= 0 || !owner.isAlive else { continue }
            snap.state = .failed
            snap.message = "The snapshot was interrupted (its process \(owner.pid) is gone); what it wrote was removed."
            snap.updatedAt = now
            guard try storeCall({ () throws(StoreError) in try store.update(snap, expecting: [.creating], events: []) }) else { continue }
            if let backend = try? backends.backend(named: snap.backend) {
                _ = try? backend.deleteSnapshot(DeleteSnapshotRequest(snapshotId: snap.id, snapshotRef: snap.id),
                                                timeout: backends.timeouts.snapshot)
            }
            touched.append(snap)
        }
        return touched
    }
}
