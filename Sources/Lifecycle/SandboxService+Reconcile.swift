import FoundationEssentials
import Glibc
import Core
import Config
import Store
import Backends
import PluginProtocol
import Basics

/// What `reap-stale` found on one backend and, with apply, did about it.
public struct ReapReport: Sendable {
    /// A backend resource with our labels and no live sandbox row.
    public struct Orphan: Sendable {
        public var backend: String
        public var backendRef: String
        public var sandboxId: String?
        public var labels: [String: String]
        /// With apply: destroyed, or the error.
        public var outcome: SweepOutcome = .planned
    }
    /// A live sandbox row whose backend resource is gone.
    public struct Ghost: Sendable {
        public var sandbox: Sandbox
        /// With apply: marked failed, skipped (changed concurrently), or the error.
        public var outcome: SweepOutcome = .planned
    }
    /// A provisioning, expired or destroying row whose owner is gone.
    public struct Stuck: Sendable {
        public var sandbox: Sandbox
        /// With apply: failed (an interrupted create), destroyed (an interrupted destroy), skipped, or the error.
        public var outcome: SweepOutcome = .planned
    }
    public var orphans: [Orphan] = []
    public var ghosts: [Ghost] = []
    /// Creates still in flight: left alone (the grace period).
    public var inFlight: [Sandbox] = []
    /// Rows stuck in an intermediate state (provisioning, expired, destroying) whose owner process is gone.
    public var stuck: [Stuck] = []
    /// Resources whose labels do not prove they are ours: never touched, only listed.
    public var foreign: [Orphan] = []
    /// Backends whose inventory failed, with the reason.
    public var errors: [String: String] = [:]
    /// A part of a backend that could not be asked (inventory's `unreachable`): its live sandboxes are
    /// unknown, not ghosts, and are left alone.
    public struct Unreachable: Sendable {
        public var backend: String
        public var scope: String
        public var message: String
        /// Live sandboxes of the store on that part.
        public var sandboxIds: [String]
    }
    public var unreachable: [Unreachable] = []
}

extension SandboxService {
    /// Diffs every backend's inventory against the store. Orphans (theirs, not in our store) are
    /// destroyed and ghosts (in our store, gone on the backend) are marked failed, with `apply` only.
    public func reapStale(apply: Bool) throws(SandboxerError) -> ReapReport {
        var report = ReapReport()
        var rows = try list(SandboxFilter())
        // Interrupted work first, so the inventory diff below sees the rows as finishing them left them.
        for row in rows where isInterrupted(row) {
            var stuck = ReapReport.Stuck(sandbox: row)
            if apply {
                do {
                    if let done = try finishInterrupted(row) {
                        stuck.sandbox = done
                        stuck.outcome = done.state == .destroyed ? .destroyed : .markedFailed
                    } else {
                        stuck.outcome = .skipped
                    }
                } catch where error.code == .store {
                    throw error
                } catch {
                    stuck.outcome = .error(error.message)
                }
            }
            report.stuck.append(stuck)
        }
        if apply && !report.stuck.isEmpty { rows = try list(SandboxFilter()) }
        let byId = Dictionary(rows.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for name in backends.names {
            let backend: any SandboxBackend
            let items: [InventoryItem]
            var unknown: [InventoryUnreachable] = []
            do {
                backend = try backends.backend(named: name)
                guard backend.supports(Capability.inventory) else { continue }
                let inventory = try backend.inventory(InventoryRequest(hostId: hostId), timeout: backends.timeouts.other)
                items = inventory.resources
                unknown = inventory.unreachable ?? []
            } catch let error as SandboxerError {
                report.errors[name] = error.message; continue
            } catch let error as BackendError {
                report.errors[name] = error.hostError.message; continue
            } catch {
                report.errors[name] = "\(error)"; continue
            }
            var seen = Set<String>()
            for item in items {
                let sid = item.sandboxId ?? item.labels[OwnershipLabel.sandbox]
                var orphan = ReapReport.Orphan(backend: name, backendRef: item.backendRef, sandboxId: sid, labels: item.labels)
                if let sid { seen.insert(sid) }
                seen.insert(item.backendRef)
                let row = sid.flatMap { byId[$0] }
                if let row, row.state == .provisioning {
                    // A stuck create is reported as stuck (above), not as in flight.
                    if !report.stuck.contains(where: { $0.sandbox.id == row.id }) { report.inFlight.append(row) }
                    continue
                }
                if let row, !row.state.isTerminal { continue }  // a live row: fine (destroying is reconciled elsewhere)
                // Ours only when the labels prove it: our host id on the resource.
                guard item.labels[OwnershipLabel.host] == hostId else { report.foreign.append(orphan); continue }
                if apply {
                    do {
                        try backend.destroy(SandboxRef(sandboxId: sid ?? item.backendRef, backendRef: item.backendRef),
                                            timeout: backends.timeouts.destroy)
                        orphan.outcome = .destroyed
                    } catch where error.code == .notFound {
                        orphan.outcome = .destroyed
                    } catch {
                        orphan.outcome = .error(error.hostError.message)
                    }
                    if orphan.outcome == .destroyed {
                        let data: EventData = ["reason": .string(TerminationReason.orphan.rawValue), "backend": .string(name),
                                               "backend_ref": .string(item.backendRef)]
                        _ = try? store.append(events: [SandboxEvent(sandboxId: sid ?? item.backendRef, type: .orphanReaped, at: now, data: data)])
                    }
                }
                report.orphans.append(orphan)
            }
            var unreachable = unknown.map { ReapReport.Unreachable(backend: name, scope: $0.scope, message: $0.message, sandboxIds: []) }
            for row in rows where row.backend == name && [.ready, .active, .expired].contains(row.state) {
                guard !seen.contains(row.id), !seen.contains(row.backendRef ?? row.id) else { continue }
                // Unknown is not gone: a sandbox on a part the backend could not ask is never a ghost.
                if let i = unknown.firstIndex(where: { $0.covers(backendRef: row.backendRef ?? row.id) }) {
                    unreachable[i].sandboxIds.append(row.id)
                    continue
                }
                var ghost = ReapReport.Ghost(sandbox: row)
                if apply {
                    var machine = SandboxMachine(row)
                    do {
                        _ = try machine.vanished(at: now)
                        ghost.outcome = try commit(machine) ? .markedFailed : .skipped
                        ghost.sandbox = machine.sandbox
                    } catch { ghost.outcome = .error(error.message) }
                }
                report.ghosts.append(ghost)
            }
            report.unreachable += unreachable
        }
        return report
    }

    /// Finishes work a crashed command left behind: a create whose process died is cleaned up on the
    /// backend and marked failed; a destroy whose process died is completed, whatever its age. Runs
    /// before each CLI command and on each round of `serve`'s sweep. Returns what it touched.
    @discardableResult
    public func reconcileInterrupted() throws(SandboxerError) -> [Sandbox] {
        let pending = try storeCall { () throws(StoreError) in try store.inFlight() }
        var touched: [Sandbox] = []
        for sandbox in pending where isInterrupted(sandbox) {
            do {
                if let done = try finishInterrupted(sandbox) { touched.append(done) }
            } catch where error.code == .store {
                throw error
            } catch {
                continue  // the backend refused this one; the next round tries again
            }
        }
        return touched
    }
}
