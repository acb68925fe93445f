import ProtobufWire
import Testing

/// Every way the reader refuses input: the right code, an offset, a sentence without the payload.
@Suite struct ErrorTests {
    /// Reads every field (and, for length-delimited fields, the nested message) and returns the error.
    func failure(_ bytes: [UInt8], maxDepth: Int = ProtoReader.defaultMaxDepth, read: (ProtoField) throws(ProtobufWireError) -> Void = { _ in }) -> ProtobufWireError? {
        var reader = ProtoReader(bytes, maxDepth: maxDepth)
        do {
            while let field = try reader.next() { try read(field) }
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: [
        [0x08],                     // tag, no value
        [0x08, 0x80],               // varint continues past the end
        [0x80],                     // tag varint continues past the end
        [0x0D, 1, 2, 3],            // fixed32 with 3 bytes
        [0x09, 1, 2, 3, 4, 5, 6, 7],// fixed64 with 7 bytes
        [0x0A],                     // length-delimited without its length
    ] as [[UInt8]])
    func truncated(_ bytes: [UInt8]) throws {
        let error = try #require(failure(bytes))
        #expect(error.code == .truncated)
        #expect(error.offset != nil)
        #expect(error.message.hasSuffix("."))
    }

    @Test func lengthBeyondTheBufferIsRefusedBeforeAllocating() throws {
        // Claims 2^62 bytes: must be refused by comparison, never by trying to allocate.
        var bytes: [UInt8] = [0x0A]
        Varint.append(1 << 62, to: &bytes)
        bytes += [1, 2, 3]
        let error = try #require(failure(bytes))
        #expect(error.code == .lengthOutOfBounds)
        #expect(error.message.contains("3 remain"))
        // One byte too many, inside a nested message: measured against the nested message, not the input.
        let nested: [UInt8] = [0x12, 0x03, 0x0A, 0x05, 0x41, 0x42, 0x43, 0x44]
        let inner = try #require(failure(nested) { field throws(ProtobufWireError) in
            var reader = try field.message()
            while try reader.next() != nil {}
        })
        #expect(inner.code == .lengthOutOfBounds)
    }

    @Test func overlongVarints() throws {
        let eleven = [UInt8](repeating: 0x80, count: 10) + [0x00]
        let tooLong = try #require(failure([0x08] + eleven))
        #expect(tooLong.code == .overlongVarint)
        #expect(tooLong.offset == 1)
        #expect(tooLong.message.contains("longer than 10 bytes"))
        // Ten bytes whose last carries bits above 63.
        let overflow = try #require(failure([0x08] + [UInt8](repeating: 0xFF, count: 9) + [0x02]))
        #expect(overflow.code == .overlongVarint)
        #expect(overflow.message.contains("more than 64 bits"))
        // The largest valid one is accepted; non-canonical padding within 10 bytes is legal protobuf.
        #expect(failure([0x08] + [UInt8](repeating: 0xFF, count: 9) + [0x01]) == nil)
        #expect(failure([0x08, 0x80, 0x80, 0x00]) == nil)
        // Inside a packed list too.
        let packed = try #require(failure([0x0A, 0x0B] + eleven) { field throws(ProtobufWireError) in _ = try field.varints() })
        #expect(packed.code == .overlongVarint)
    }

    @Test(arguments: [[0x0B, 0x0C], [0x0C]] as [[UInt8]])
    func groupsAreRefused(_ bytes: [UInt8]) throws {
        let error = try #require(failure(bytes))
        #expect(error.code == .groupRefused)
        #expect(error.message.contains("groups are not supported"))
    }

    @Test(arguments: [[0x0E], [0x0F]] as [[UInt8]])
    func nonexistentWireTypes(_ bytes: [UInt8]) throws {
        #expect(failure(bytes)?.code == .invalidWireType)
    }

    @Test func invalidFieldNumbers() throws {
        #expect(failure([0x00, 0x00])?.code == .invalidFieldNumber)          // field 0
        var big: [UInt8] = []
        Varint.append(UInt64(WireType.maxFieldNumber + 1) << 3, to: &big)
        #expect(failure(big + [0x00])?.code == .invalidFieldNumber)
    }

    @Test func tooDeep() throws {
        let error = try #require(failure(nested(depth: 65)) { field throws(ProtobufWireError) in
            _ = try walk(field)
        })
        #expect(error.code == .tooDeep)
        #expect(error.message.contains("limit of 64"))
        // A lower limit of the reader's choosing.
        #expect(failure(nested(depth: 3), maxDepth: 2) { field throws(ProtobufWireError) in _ = try walk(field) }?.code == .tooDeep)
        #expect(failure(nested(depth: 2), maxDepth: 2) { field throws(ProtobufWireError) in _ = try walk(field) } == nil)
    }

    @Test func wrongWireTypes() throws {
        var writer = ProtoWriter()
        writer.string(1, "x")
        writer.uint64(2, 1)
        writer.fixed32(3, 1)
        writer.fixed64(4, 1)
        var reader = ProtoReader(writer.bytes)
        let string = try reader.nextField(), varint = try reader.nextField()
        let fixed32 = try reader.nextField(), fixed64 = try reader.nextField()
        let attempts: [() throws -> Void] = [
            { _ = try string.uint64() }, { _ = try varint.string() }, { _ = try varint.message() },
            { _ = try fixed32.fixed64() }, { _ = try fixed64.float() }, { _ = try varint.fixed32() },
            { _ = try fixed64.uint32s() }, { _ = try varint.fixed32s() }, { _ = try string.double() },
        ]
        for attempt in attempts {
            #expect(throws: ProtobufWireError.self) { try attempt() }
            do { try attempt() } catch { #expect((error as? ProtobufWireError)?.code == .wrongWireType) }
        }
    }

    @Test func invalidUTF8() throws {
        var writer = ProtoWriter()
        writer.bytes(1, [0x68, 0xC3, 0x28])
        let field = try firstField(writer.bytes)
        #expect(try field.bytes() == [0x68, 0xC3, 0x28])    // fine as bytes
        do {
            _ = try field.string()
            Issue.record("invalid UTF-8 read as a string")
        } catch {
            #expect(error.code == .invalidUTF8)
        }
    }

    @Test func packedFixedLengthMustBeAMultiple() throws {
        let field = try firstField([0x0A, 0x05, 1, 2, 3, 4, 5])
        do {
            _ = try field.fixed32s()
            Issue.record("5 bytes read as packed fixed32")
        } catch {
            #expect(error.code == .invalidPackedLength)
        }
        #expect(throws: ProtobufWireError.self) { try field.doubles() }
    }

    @Test func messagesDoNotEchoPayloads() throws {
        let secret = "token-Sup3rSecret"
        var writer = ProtoWriter()
        writer.string(1, secret)
        let bytes = writer.bytes.dropLast() + []
        let error = try #require(failure(Array(bytes)))
        #expect(!error.description.contains("Sup3r"))
    }
}

/// Opens every nested message under field 2, as deep as it goes.
func walk(_ field: ProtoField) throws(ProtobufWireError) -> Int {
    var reader = try field.message()
    while let inner = try reader.next() {
        if inner.number == 2 { return try walk(inner) }
    }
    return reader.depth
}
