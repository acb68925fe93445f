import FoundationEssentials
import Glibc
import Basics
import PluginProtocol

extension Snapshot {
    /// The snapshot as both fronts print it: snake_case keys, RFC 3339 UTC times, null when unset.
    public var jsonValue: JSONValue {
        .object([
            "id": .string(id), "sandbox_id": .string(sandboxId), "backend": .string(backend),
            "profile": .string(profile), "name": name.map { .string($0) } ?? .null, "state": .string(state.rawValue),
            "size_bytes": sizeBytes.map { .number(Double($0)) } ?? .null,
            "backend_ref": backendRef.map { .string($0) } ?? .null,
            "created_at": .string(RFC3339.format(createdAt)), "updated_at": .string(RFC3339.format(updatedAt)),
            "trigger": .string(trigger.rawValue), "deleted_reason": deletedReason.map { .string($0.rawValue) } ?? .null,
            "message": message.map { .string($0) } ?? .null,
        ])
    }
}
