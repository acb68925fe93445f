import ProtobufWire
import Testing

/// Every scalar type written and read back at its edges, with the exact bytes where they matter.
@Suite struct RoundTripTests {
    /// Writes one field with `write`, reads it back with `read`.
    func roundTrip<T: Equatable>(_ write: (inout ProtoWriter) -> Void, _ read: (ProtoField) throws -> T) throws -> (T, [UInt8]) {
        var writer = ProtoWriter()
        write(&writer)
        var reader = ProtoReader(writer.bytes)
        let field = try #require(try reader.next())
        #expect(try reader.next() == nil)
        return (try read(field), writer.bytes)
    }

    @Test(arguments: [UInt64(0), 1, 127, 128, 300, UInt64(UInt32.max), UInt64.max])
    func uint64(_ value: UInt64) throws {
        let (back, bytes) = try roundTrip({ $0.uint64(1, value) }, { try $0.uint64() })
        #expect(back == value)
        #expect(bytes.count == 1 + Varint.encodedLength(value))
    }

    @Test func varintBytes() {
        var writer = ProtoWriter()
        writer.uint64(1, 300)
        #expect(writer.bytes == [0x08, 0xAC, 0x02])
    }

    @Test(arguments: [Int64.min, -1, 0, 1, Int64.max])
    func int64(_ value: Int64) throws {
        let (back, bytes) = try roundTrip({ $0.int64(2, value) }, { try $0.int64() })
        #expect(back == value)
        if value < 0 { #expect(bytes.count == 11) }   // tag + 10 bytes of two's complement
    }

    @Test(arguments: [Int32.min, -1, 0, 1, Int32.max])
    func int32SignExtends(_ value: Int32) throws {
        let (back, bytes) = try roundTrip({ $0.int32(3, value) }, { try $0.int32() })
        #expect(back == value)
        if value < 0 {
            #expect(bytes.count == 11)
            // The same bytes read as int64 give the same negative number: sign-extended, not zero-extended.
            #expect(try firstField(bytes).int64() == Int64(value))
        }
    }

    @Test func negativeInt32Bytes() {
        var writer = ProtoWriter()
        writer.int32(1, -1)
        #expect(writer.bytes == [0x08] + [UInt8](repeating: 0xFF, count: 9) + [0x01])
    }

    @Test(arguments: [UInt32(0), 1, UInt32.max])
    func uint32(_ value: UInt32) throws {
        #expect(try roundTrip({ $0.uint32(4, value) }, { try $0.uint32() }).0 == value)
    }

    @Test(arguments: [(Int32(0), UInt64(0)), (-1, 1), (1, 2), (-2, 3), (Int32.max, 0xFFFF_FFFE), (Int32.min, 0xFFFF_FFFF)] as [(Int32, UInt64)])
    func sint32Zigzag(_ value: Int32, _ wire: UInt64) throws {
        let (back, _) = try roundTrip({ $0.sint32(5, value) }, { try $0.sint32() })
        #expect(back == value)
        #expect(try roundTrip({ $0.sint32(5, value) }, { try $0.uint64() }).0 == wire)
    }

    @Test(arguments: [Int64.min, -2, -1, 0, 1, Int64.max])
    func sint64Zigzag(_ value: Int64) throws {
        #expect(try roundTrip({ $0.sint64(6, value) }, { try $0.sint64() }).0 == value)
        if value == Int64.min { #expect(try roundTrip({ $0.sint64(6, value) }, { try $0.uint64() }).0 == UInt64.max) }
    }

    @Test func fixedWidth() throws {
        #expect(try roundTrip({ $0.fixed32(1, 0xDEAD_BEEF) }, { try $0.fixed32() }) == (0xDEAD_BEEF, [0x0D, 0xEF, 0xBE, 0xAD, 0xDE]))
        #expect(try roundTrip({ $0.fixed64(1, 0x0102_0304_0506_0708) }, { try $0.fixed64() }).1 == [0x09, 8, 7, 6, 5, 4, 3, 2, 1])
        #expect(try roundTrip({ $0.sfixed32(1, -2) }, { try $0.sfixed32() }).0 == -2)
        #expect(try roundTrip({ $0.sfixed64(1, Int64.min) }, { try $0.sfixed64() }).0 == Int64.min)
    }

    @Test(arguments: [0.0, -0.0, 1.5, -3.25e300, Double.infinity, Double.leastNonzeroMagnitude])
    func double(_ value: Double) throws {
        #expect(try roundTrip({ $0.double(7, value) }, { try $0.double() }).0.bitPattern == value.bitPattern)
    }

    @Test func doubleBytesAndNaN() throws {
        #expect(try roundTrip({ $0.double(1, 1.0) }, { try $0.double() }).1 == [0x09, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F])
        #expect(try roundTrip({ $0.double(1, .nan) }, { try $0.double() }).0.isNaN)
    }

    @Test(arguments: [Float(0), -1.5, Float.greatestFiniteMagnitude, -Float.infinity])
    func float(_ value: Float) throws {
        #expect(try roundTrip({ $0.float(8, value) }, { try $0.float() }).0 == value)
    }

    @Test func boolReadsAnyNonZero() throws {
        #expect(try roundTrip({ $0.bool(1, true) }, { try $0.bool() }) == (true, [0x08, 0x01]))
        #expect(try roundTrip({ $0.bool(1, false) }, { try $0.bool() }).0 == false)
        #expect(try roundTrip({ $0.uint64(1, 1 << 40) }, { try $0.bool() }).0 == true)
    }

    @Test func lengthDelimited() throws {
        #expect(try roundTrip({ $0.string(1, "héllo ✓") }, { try $0.string() }).0 == "héllo ✓")
        #expect(try roundTrip({ $0.string(1, "") }, { try $0.string() }) == ("", [0x0A, 0x00]))
        let big = [UInt8](repeating: 0xAB, count: 300)
        let (back, bytes) = try roundTrip({ $0.bytes(2, big) }, { try $0.bytes() })
        #expect(back == big)
        #expect(Array(bytes[0..<3]) == [0x12, 0xAC, 0x02])
    }

    @Test func largeFieldNumbers() throws {
        var writer = ProtoWriter()
        writer.uint64(WireType.maxFieldNumber, 5)
        var reader = ProtoReader(writer.bytes)
        let field = try #require(try reader.next())
        #expect(field.number == WireType.maxFieldNumber)
        #expect(writer.bytes.count == 6)
    }

    @Test func packedAndUnpackedAreBothRead() throws {
        var writer = ProtoWriter()
        writer.packedInt32(1, [1, -1, 300])
        writer.int32(1, 7)                    // one unpacked element after the packed run
        writer.packedSInt64(2, [-5, 5])
        writer.packedFixed32(3, [1, 2])
        writer.fixed32(3, 3)
        writer.packedDouble(4, [0.5, -2])
        writer.packedBool(5, [true, false])
        writer.packedFloat(6, [])             // empty: nothing written
        var ints: [Int32] = [], sints: [Int64] = [], fixeds: [UInt32] = [], doubles: [Double] = [], bools: [Bool] = []
        var reader = ProtoReader(writer.bytes)
        var numbers: [Int] = []
        while let field = try reader.next() {
            numbers.append(field.number)
            switch field.number {
            case 1: ints += try field.int32s()
            case 2: sints += try field.sint64s()
            case 3: fixeds += try field.fixed32s()
            case 4: doubles += try field.doubles()
            case 5: bools += try field.bools()
            default: Issue.record("unexpected field \(field.number)")
            }
        }
        #expect(ints == [1, -1, 300, 7])
        #expect(sints == [-5, 5])
        #expect(fixeds == [1, 2, 3])
        #expect(doubles == [0.5, -2])
        #expect(bools == [true, false])
        #expect(numbers == [1, 1, 2, 3, 3, 4, 5])
    }

    @Test func packedOtherTypes() throws {
        var writer = ProtoWriter()
        writer.packedUInt64(1, [0, UInt64.max])
        writer.packedUInt32(2, [UInt32.max])
        writer.packedInt64(3, [Int64.min])
        writer.packedSInt32(4, [Int32.min, Int32.max])
        writer.packedFixed64(5, [9])
        writer.packedFloat(6, [1.5])
        var reader = ProtoReader(writer.bytes)
        #expect(try reader.nextField().uint64s() == [0, UInt64.max])
        #expect(try reader.nextField().uint32s() == [UInt32.max])
        #expect(try reader.nextField().int64s() == [Int64.min])
        #expect(try reader.nextField().sint32s() == [Int32.min, Int32.max])
        let fixed = try reader.nextField()
        #expect(try fixed.fixed64s() == [9])
        #expect(try fixed.sfixed64s() == [9])
        #expect(try reader.nextField().floats() == [1.5])
        #expect(reader.isAtEnd)
    }

    @Test func genericMapEntry() throws {
        var writer = ProtoWriter()
        writer.mapEntry(1, key: { $0.string(1, "k") }, value: { $0.uint32(2, 5) })
        writer.message(1) { $0.uint32(2, 6) }   // an entry without a key: the key is the default
        var reader = ProtoReader(writer.bytes)
        let first = try reader.nextField().mapEntry()
        #expect(try first.key?.string() == "k")
        #expect(try first.value?.uint32() == 5)
        let second = try reader.nextField().mapEntry()
        #expect(second.key == nil)
        #expect(try second.value?.uint32() == 6)
        var strings = ProtoWriter()
        strings.message(1) { $0.string(2, "only a value") }
        #expect(try firstField(strings.bytes).stringMapEntry() == ("", "only a value"))
    }

    @Test func nestingUpToTheLimitIsRead() throws {
        let bytes = nested(depth: 64)
        #expect(try depthReached(ProtoReader(bytes)) == 64)
    }
}

/// A message nested `depth` levels below the outermost one, innermost holding field 1 = 1.
func nested(depth: Int) -> [UInt8] {
    var inner = ProtoWriter()
    inner.uint64(1, 1)
    var bytes = inner.bytes
    for _ in 0..<depth {
        var outer = ProtoWriter()
        outer.bytes(2, bytes)
        bytes = outer.bytes
    }
    return bytes
}

/// Follows field 2 down as far as it goes.
func depthReached(_ start: ProtoReader) throws -> Int {
    var reader = start
    while let field = try reader.next() {
        if field.number == 2 { return try depthReached(field.message()) }
    }
    return reader.depth
}

/// The first field of `bytes`, which a test requires to exist.
func firstField(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> ProtoField {
    var reader = ProtoReader(bytes)
    return try reader.nextField(sourceLocation: sourceLocation)
}

extension ProtoReader {
    /// The next field, which a test requires to exist.
    mutating func nextField(sourceLocation: SourceLocation = #_sourceLocation) throws -> ProtoField {
        try #require(try next(), sourceLocation: sourceLocation)
    }
}
