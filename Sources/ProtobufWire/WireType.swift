/// The low three bits of a protobuf tag: how the field's value is laid out on the wire.
public enum WireType: UInt8, Sendable, CustomStringConvertible {
    /// int32, int64, uint32, uint64, sint32, sint64, bool, enum.
    case varint = 0
    /// fixed64, sfixed64, double.
    case fixed64 = 1
    /// string, bytes, nested messages, packed repeated scalars, map entries.
    case lengthDelimited = 2
    /// Deprecated groups: recognised only so they can be refused by name.
    case startGroup = 3
    case endGroup = 4
    /// fixed32, sfixed32, float.
    case fixed32 = 5

    public var description: String {
        switch self {
        case .varint: "varint"
        case .fixed64: "fixed64"
        case .lengthDelimited: "length-delimited"
        case .startGroup: "start-group"
        case .endGroup: "end-group"
        case .fixed32: "fixed32"
        }
    }

    /// The largest field number a tag can carry (29 bits).
    public static let maxFieldNumber = (1 << 29) - 1
}
