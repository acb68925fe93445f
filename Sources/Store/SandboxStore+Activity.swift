import FoundationEssentials
import Core

extension SandboxStore {
    /// The columns a command's start or end changes: the state, `updated_at` and the idle deadline
    /// derived from it, and what last reset the idle clock.
    static let activityColumns = "id, state, updated_at, idle_at, last_activity"

    /// Writes only what a command's start or end changes when the row's state is in `expecting`.
    ///
    /// `update` writes every column from the caller's copy of the row, which is right for a state
    /// machine step but wrong for activity: commands run concurrently with each other and with
    /// extends, and a full-row write from a copy read a moment earlier would undo an extend's new
    /// deadline, or fail because another command moved the row from ready to active first (a 409
    /// for the second of two concurrent execs). False when the state did not match.
    public func updateActivity(_ sandbox: Sandbox, expecting: Set<SandboxState>, events: [SandboxEvent] = []) throws(StoreError) -> Bool {
        let updatedAt = sandbox.updatedAt.millisecondsSince1970
        let values: [SQLValue] = [
            .text(sandbox.id), .text(sandbox.state.rawValue), .integer(updatedAt),
            .integer(Self.idleAt(updatedAt: updatedAt, idleReapSeconds: sandbox.idleReapSeconds)),
            .text(sandbox.lastActivity),
        ]
        return try conditionalUpdate(table: "sandboxes", what: "Sandbox", columns: Self.activityColumns, values: values,
                                     states: expecting.map(\.rawValue), events: events) { () throws(StoreError) in
            // Run with the row written (one change), in its transaction. A command's start and end
            // only move the idle clock, so a command that wrote nothing else (`exec`) need not sync
            // the log at close for them (0.5–11 ms here): only a power loss drops an unsynced commit
            // (a process crash does not), and then the row is at most an activity older (an earlier
            // idle deadline, never a lost sandbox or intent); any later synced commit carries it too.
            if events.isEmpty { connection.changesNeedingNoSync += 1 }
        }
    }

    /// `update`, when the row's state is in `expecting` AND its deadline is still `expiresAt`: an
    /// extend computes the new deadline from the one it read, so a concurrent extend must make it
    /// read again rather than be overwritten. False when either did not match.
    public func update(_ sandbox: Sandbox, expecting: Set<SandboxState>, ifExpiresAt expiresAt: Date?,
                       events: [SandboxEvent], from previous: Sandbox? = nil) throws(StoreError) -> Bool {
        try update(sandbox, expecting: expecting, events: events,
                   andWhere: ("expires_at IS ?", .integer(expiresAt?.millisecondsSince1970)), from: previous)
    }
}
