import FoundationEssentials
import Glibc
import Core
import Store
import Backends
import PluginProtocol

// Telling interrupted work from work in progress, and finishing it: shared by the reconcile that runs
// before each command and on `serve`'s sweep, and by `reap-stale`.
extension SandboxService {
    /// Slack past a destroy's call deadline before a destroying row owned by this very process counts
    /// as abandoned (its call must have returned or timed out by then).
    static let abandonedDestroySlackSeconds: Double = 10

    /// Whether `sandbox` sits in an intermediate state (provisioning, expired, destroying) with nobody left to
    /// finish it: the process its intent names is gone (a zombie counts as gone).
    ///
    /// A destroying row whose intent names this process is abandoned only once the destroy call's
    /// deadline (plus slack) has passed since the row last changed: a failed destroy leaves the row
    /// destroying, and `serve` would otherwise never finish its own. A destroying row with no owner
    /// (written before destroys recorded one) keeps the old rule: abandoned after 10 s.
    ///
    /// An expired row is interrupted when the process that expired it is gone (the expiry sweep of
    /// that process would have destroyed it next); one with no owner (older rows, or an expiry
    /// not made by the sweep) and one this very process expired are left to the next `expire --apply`,
    /// which finishes every expired row.
    func isInterrupted(_ sandbox: Sandbox) -> Bool {
        switch sandbox.state {
        case .provisioning:
            // An intent naming no process (pid 0) can have no live owner.
            guard let owner = sandbox.request.owner, owner.pid > 0 else { return true }
            return !owner.isAlive
        case .destroying:
            let age = now.timeIntervalSince(sandbox.updatedAt)
            guard let owner = sandbox.request.owner, owner.pid > 0 else { return age > 10 }
            if owner == ProcessIdentity.current() {
                return age > backends.timeouts.destroy + Self.abandonedDestroySlackSeconds
            }
            return !owner.isAlive
        case .expired:
            guard let owner = sandbox.request.owner, owner.pid > 0, owner != ProcessIdentity.current() else { return false }
            return !owner.isAlive
        default:
            return false
        }
    }

    /// Finishes one interrupted row: a create or recreate is marked failed and what it made is
    /// destroyed; a destroy is driven to destroyed. Nil when another process got there first; throws
    /// when the backend refused the destroy (the row stays destroying and the next round tries again).
    func finishInterrupted(_ sandbox: Sandbox) throws(SandboxerError) -> Sandbox? {
        switch sandbox.state {
        case .provisioning:
            let owner = sandbox.request.owner ?? ProcessIdentity(pid: 0, startTime: 0)
            var machine = SandboxMachine(sandbox)
            let what = sandbox.request.recreate ? "recreate" : "create"
            _ = try machine.createFailed("The \(what) was interrupted (its process \(owner.pid) is gone); what it made was cleaned up.", at: now)
            guard try commit(machine) else { return nil }
            // The backend may hold what the dead create made: find it by id and destroy it.
            if let backend = try? backends.backend(named: sandbox.backend) {
                var refs = [sandbox.id]
                if backend.supports(Capability.inventory),
                   let items = try? backend.inventory(InventoryRequest(hostId: hostId), timeout: backends.timeouts.other).resources {
                    refs = items.filter { ($0.sandboxId ?? $0.labels[OwnershipLabel.sandbox]) == sandbox.id }.map(\.backendRef)
                }
                for ref in refs {
                    _ = try? backend.destroy(SandboxRef(sandboxId: sandbox.id, backendRef: ref), timeout: backends.timeouts.destroy)
                }
            }
            return machine.sandbox
        case .destroying:
            return try finishDestroy(sandbox, reason: sandbox.reason ?? .manual)
        case .expired:
            return try finishInterruptedExpiry(sandbox)
        default:
            return nil
        }
    }
}
