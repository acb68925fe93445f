import FoundationEssentials
import Glibc
import PluginProtocol

/// What the host writes in a snapshot's row before it calls the backend to capture it: the process
/// taking it, so a capture whose process died is recognised. Rows written before the intent was typed
/// hold the numbers as strings; they read the same.
public struct SnapshotIntent: Sendable, Equatable, Codable {
    /// The process taking the snapshot.
    package var owner: ProcessIdentity?
    /// Members this version does not know: written back unchanged.
    var otherFields: [String: JSONValue] = [:]

    /// An intent naming no process.
    public init() {}

    package init(owner: ProcessIdentity?) { self.owner = owner }

    package init(members: [String: JSONValue]) {
        var rest = members
        owner = ProcessIdentity(members: members, consumed: &rest)
        otherFields = rest
    }

    package var members: [String: JSONValue] {
        var out = otherFields
        owner?.write(to: &out)
        return out
    }

    /// The intent read from its stored JSON text; text that is not a JSON object reads as an empty intent.
    public init(storedJSON text: String) { self.init(members: JSONValue.storedObject(text) ?? [:]) }

    /// Compact JSON text with sorted keys, as the store keeps it.
    public var storedJSON: String { JSONValue.object(members).storedText }

    public init(from decoder: Decoder) throws { self.init(members: try [String: JSONValue](from: decoder)) }

    public func encode(to encoder: Encoder) throws { try members.encode(to: encoder) }
}
