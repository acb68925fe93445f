import PluginProtocol

/// What a sweep (`expire`, `prune-snapshots`, `reap-stale`) did to one item of its plan.
///
/// Both fronts print it as the item's `outcome`: null for a dry run, else one word, or the error
/// message when the step failed (the JSON shape predates this type and is kept as it was).
public enum SweepOutcome: Sendable, Equatable {
    /// A dry run: nothing was done. `null`.
    case planned
    /// The expired sandbox, or the orphaned backend resource, is gone. `"destroyed"`.
    case destroyed
    /// The snapshot is gone (retention). `"deleted"`.
    case deleted
    /// The ghost (live in the store, gone on its backend) was marked failed, reason `backend_vanished`. `"failed"`.
    case markedFailed
    /// Another process changed the item first and this sweep left it to that one. `"skipped"`.
    case skipped
    /// The step failed; the message says why (the next sweep tries again). The message itself.
    case error(String)

    /// The word (or message) both fronts print; nil for a dry run.
    public var text: String? {
        switch self {
        case .planned: nil
        case .destroyed: "destroyed"
        case .deleted: "deleted"
        case .markedFailed: "failed"
        case .skipped: "skipped"
        case .error(let message): message
        }
    }

    /// The `outcome` member of the item in JSON.
    public var jsonValue: JSONValue { text.map { .string($0) } ?? .null }

    /// True when the step was tried and failed: the command exits 1.
    public var isError: Bool {
        if case .error = self { return true }
        return false
    }
}
