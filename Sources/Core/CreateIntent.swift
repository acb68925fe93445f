import FoundationEssentials
import Glibc
import Basics
import PluginProtocol

/// What the host writes in a sandbox's row before it calls the backend to create or recreate it (the
/// `request` column), so a host that dies in between can tell on restart whose work it was and what
/// it asked for, and a replayed create can answer as the first one did.
///
/// Stored as a JSON object: `ttl_seconds`, `requested_ttl_seconds`, `capped`, `owner_pid`,
/// `owner_start`, `recreate` (only while true), `from_snapshot` (only when set). Rows written before
/// the intent was typed hold every value as a string (`"capped":"true"`); they read the same.
public struct CreateIntent: Sendable, Equatable, Codable {
    /// The TTL granted at create (after the cap), in seconds.
    public var ttlSeconds: Int64?
    /// The TTL asked for (the request's `ttl`, or the profile default), in seconds.
    public var requestedTTLSeconds: Int64?
    /// True when the requested TTL was above the profile's max and was cut to it.
    public var capped: Bool
    /// The process doing the create or recreate: if it is gone while the row is still provisioning,
    /// the work was interrupted.
    package var owner: ProcessIdentity?
    /// True when this is a recreate's intent (a live sandbox's instance is being replaced).
    public var recreate: Bool
    /// The snapshot (id) the instance is restored from.
    public var fromSnapshot: String?
    /// Members this version does not know (a newer host wrote them), or could not read: written back
    /// unchanged, so a row rewritten by this version loses nothing.
    var otherFields: [String: JSONValue] = [:]

    package init(ttlSeconds: Int64? = nil, requestedTTLSeconds: Int64? = nil, capped: Bool = false,
                 owner: ProcessIdentity? = nil, recreate: Bool = false, fromSnapshot: String? = nil) {
        self.ttlSeconds = ttlSeconds; self.requestedTTLSeconds = requestedTTLSeconds; self.capped = capped
        self.owner = owner; self.recreate = recreate; self.fromSnapshot = fromSnapshot
    }

    /// Reads the members of a stored intent; a member of the wrong type is kept in `otherFields`.
    package init(members: [String: JSONValue]) {
        var rest = members
        func take<T>(_ key: String, _ read: (JSONValue) -> T?) -> T? {
            guard let value = members[key], let typed = read(value) else { return nil }
            rest[key] = nil
            return typed
        }
        ttlSeconds = take("ttl_seconds") { $0.looseInt64 }
        requestedTTLSeconds = take("requested_ttl_seconds") { $0.looseInt64 }
        capped = take("capped") { $0.looseBool } ?? false
        recreate = take("recreate") { $0.looseBool } ?? false
        fromSnapshot = take("from_snapshot") { $0.stringValue }
        owner = ProcessIdentity(members: members, consumed: &rest)
        otherFields = rest
    }

    /// The intent as a JSON object's members.
    package var members: [String: JSONValue] {
        var out = otherFields
        if let ttlSeconds { out["ttl_seconds"] = .number(Double(ttlSeconds)) }
        if let requestedTTLSeconds { out["requested_ttl_seconds"] = .number(Double(requestedTTLSeconds)) }
        out["capped"] = .bool(capped)
        if recreate { out["recreate"] = .bool(true) }
        if let fromSnapshot { out["from_snapshot"] = .string(fromSnapshot) }
        owner?.write(to: &out)
        return out
    }

    /// The intent read from its stored JSON text; text that is not a JSON object reads as an empty intent.
    public init(storedJSON text: String) {
        self.init(members: JSONValue.storedObject(text) ?? [:])
    }

    /// Compact JSON text with sorted keys, as the store keeps it.
    public var storedJSON: String { JSONValue.object(members).storedText }

    public init(from decoder: Decoder) throws {
        self.init(members: try [String: JSONValue](from: decoder))
    }

    public func encode(to encoder: Encoder) throws {
        try members.encode(to: encoder)
    }
}
