/// A message type written by hand against `ProtoWriter` and `ProtoReader` (no code generation).
///
/// `encode` writes the fields that are set; `init(from:)` loops over `reader.next()`, assigning
/// the fields it knows and ignoring the rest (already skipped by the reader).
public protocol ProtoMessage: Sendable {
    /// Writes this message's fields (not a length prefix: nesting adds that).
    func encode(to writer: inout ProtoWriter)
    /// Reads a message from its fields; absent fields keep their defaults.
    init(from reader: inout ProtoReader) throws(ProtobufWireError)
}

extension ProtoMessage {
    /// The message's wire bytes.
    public func serializedBytes() -> [UInt8] {
        var writer = ProtoWriter()
        encode(to: &writer)
        return writer.bytes
    }

    /// Decodes a whole serialized message.
    public init(serializedBytes bytes: [UInt8], maxDepth: Int = ProtoReader.defaultMaxDepth) throws(ProtobufWireError) {
        var reader = ProtoReader(bytes, maxDepth: maxDepth)
        try self.init(from: &reader)
    }
}
