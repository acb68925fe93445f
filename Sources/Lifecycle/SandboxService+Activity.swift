import FoundationEssentials
import Core
import Store

// A command's start and end move a live sandbox between ready and active. Several commands may run
// on one sandbox at once (the HTTP API allows four per caller), and an extend or a sweep may change
// the row while they do, so these write only the activity columns, conditioned on the state alone.
extension SandboxService {
    /// Marks `sandbox` active for a command starting now; a conflict when it is no longer live.
    func beginActivity(_ sandbox: Sandbox) throws(SandboxerError) {
        var machine = SandboxMachine(sandbox)
        _ = try machine.activityStarted(at: now)
        let written = try storeCall { () throws(StoreError) in
            try store.updateActivity(machine.sandbox, expecting: SandboxState.live, events: machine.events)
        }
        guard !written else { return }
        // The row left ready/active since it was read: say what it is now.
        var current = SandboxMachine(try get(sandbox.id))
        _ = try current.activityStarted(at: now)
        throw SandboxerError(.conflict, "Sandbox \(sandbox.id) changed before the command could start; try again.")
    }

    /// Moves sandbox `id` back to ready after a command; a sweep's or a destroy's change stands.
    func endActivity(_ id: String) {
        guard let current = try? get(id), current.state == .active else { return }
        var machine = SandboxMachine(current)
        _ = machine.activityEnded(at: now)
        _ = try? storeCall { () throws(StoreError) in
            try store.updateActivity(machine.sandbox, expecting: [.active], events: machine.events)
        }
    }
}
