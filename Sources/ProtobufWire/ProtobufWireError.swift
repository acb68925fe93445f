/// Why protobuf bytes could not be read: a code to branch on and one full sentence for people.
///
/// Messages name byte offsets and field numbers, never field contents: decoded bytes may be secrets.
public struct ProtobufWireError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The input ends in the middle of a tag, varint or fixed-width value.
        case truncated
        /// A varint runs past 10 bytes, or its 10th byte carries bits beyond 64.
        case overlongVarint = "overlong_varint"
        /// A length-delimited field claims more bytes than remain in its message.
        case lengthOutOfBounds = "length_out_of_bounds"
        /// Nested messages go deeper than the reader's limit.
        case tooDeep = "too_deep"
        /// A field uses the deprecated group wire types (3 and 4), which this codec refuses.
        case groupRefused = "group_refused"
        /// A tag names wire type 6 or 7, which do not exist.
        case invalidWireType = "invalid_wire_type"
        /// A tag names field number 0 or one above 2^29 - 1.
        case invalidFieldNumber = "invalid_field_number"
        /// A known field arrived with a wire type its declared type cannot have.
        case wrongWireType = "wrong_wire_type"
        /// A string field is not valid UTF-8.
        case invalidUTF8 = "invalid_utf8"
        /// A packed fixed-width field's length is not a multiple of the element size.
        case invalidPackedLength = "invalid_packed_length"
    }

    public var code: Code
    public var message: String
    /// The byte offset in the outermost input where the problem was found, when known.
    public var offset: Int?

    public init(code: Code, message: String, offset: Int? = nil) {
        self.code = code; self.message = message; self.offset = offset
    }

    public var description: String { message }
}
