// libFuzzer target for ProtobufWire, built by fuzz/run-protobuf.sh with
// `swiftc -sanitize=fuzzer,address -parse-as-library` from the codec's own source files (no SwiftPM).
//
// Every input is decoded walking every field recursively: each value through every accessor its
// wire type allows, each length-delimited payload also as a nested message, a packed list and a
// map entry. Beyond "does not crash" (and the run's -malloc_limit_mb, which fails any single
// allocation a hostile length could inflate):
//  1. Errors carry an offset inside the input and a one-sentence message.
//  2. A message that reads cleanly, re-encoded field by field with ProtoWriter, is no longer than
//     the input (only non-canonical varints can make the input longer) and reads back to the
//     same fields; a canonical input re-encodes to exactly itself.
//  3. Accessors agree with each other: int32 is the low half of int64, sint64 unzigzags uint64,
//     a varint read unpacked equals the one-element list varints() returns.

import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProtobufWire(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var budget = 20_000   // fields visited per input: keeps a deep, wide input from timing out
    do {
        let fields = try walk(ProtoReader(bytes), budget: &budget)
        checkReencoding(fields, of: bytes)
    } catch {
        check(error.offset.map { (0...bytes.count).contains($0) } ?? true, "error offset \(String(describing: error.offset)) outside the input")
        check(error.message.hasSuffix(".") && !error.message.contains("\n"), "error message is not one sentence")
    }
    return 0
}

/// Reads every field of `start`, exercising every accessor; returns the top-level fields.
private func walk(_ start: ProtoReader, budget: inout Int) throws(ProtobufWireError) -> [ProtoField] {
    var reader = start
    var fields: [ProtoField] = []
    while let field = try reader.next() {
        fields.append(field)
        budget -= 1
        if budget <= 0 { continue }
        exercise(field, budget: &budget)
    }
    check(reader.isAtEnd, "reader stopped before the end without an error")
    return fields
}

private func exercise(_ field: ProtoField, budget: inout Int) {
    check(field.number >= 1 && field.number <= WireType.maxFieldNumber, "field number \(field.number) out of range")
    switch field.value {
    case .varint(let raw):
        check((try? field.uint64()) == raw, "uint64 differs from the raw varint")
        check((try? field.int32()) == Int32(truncatingIfNeeded: (try? field.int64()) ?? 0), "int32 is not the low half of int64")
        check((try? field.sint64()) == Varint.unzigzag(raw), "sint64 differs")
        check((try? field.bool()) == (raw != 0), "bool differs")
        check((try? field.varints()) == [raw], "unpacked varint is not a one-element list")
        _ = try? field.sint32(); _ = try? field.uint32()
        check((try? field.fixed32()) == nil && (try? field.string()) == nil, "a varint read as another wire type")
    case .fixed32(let raw):
        check((try? field.fixed32()) == raw && (try? field.fixed32s()) == [raw], "fixed32 differs")
        _ = try? field.float(); _ = try? field.sfixed32()
        check((try? field.uint64()) == nil, "fixed32 read as a varint")
    case .fixed64(let raw):
        check((try? field.fixed64()) == raw && (try? field.fixed64s()) == [raw], "fixed64 differs")
        _ = try? field.double(); _ = try? field.sfixed64()
    case .lengthDelimited(let payload):
        check((try? field.bytes()).map { $0.elementsEqual(payload) } ?? false, "bytes differ from the payload")
        if let text = try? field.string() { check(text.utf8.elementsEqual(payload), "string does not round-trip its bytes") }
        if let values = try? field.varints() { check(values.count <= payload.count, "more packed varints than bytes") }
        if let values = try? field.fixed32s() { check(values.count * 4 == payload.count, "packed fixed32 count") }
        if let values = try? field.fixed64s() { check(values.count * 8 == payload.count, "packed fixed64 count") }
        _ = try? field.sint32s(); _ = try? field.doubles(); _ = try? field.mapEntry(); _ = try? field.stringMapEntry()
        if let nested = try? field.message() {
            check(nested.depth <= nested.maxDepth, "nested deeper than the limit")
            _ = try? walk(nested, budget: &budget)
        }
    }
}

/// Oracle 2: re-encode the fields and read them back.
private func checkReencoding(_ fields: [ProtoField], of input: [UInt8]) {
    var writer = ProtoWriter()
    for field in fields {
        switch field.value {
        case .varint(let raw): writer.uint64(field.number, raw)
        case .fixed32(let raw): writer.fixed32(field.number, raw)
        case .fixed64(let raw): writer.fixed64(field.number, raw)
        case .lengthDelimited(let payload): writer.bytes(field.number, payload)
        }
    }
    check(writer.bytes.count <= input.count, "re-encoding grew from \(input.count) to \(writer.bytes.count) bytes")
    var reader = ProtoReader(writer.bytes)
    var index = 0
    do {
        while let field = try reader.next() {
            check(index < fields.count && field.number == fields[index].number && sameValue(field.value, fields[index].value),
                  "re-encoded field \(index) reads back differently")
            index += 1
        }
    } catch {
        check(false, "re-encoded bytes do not read back: \(error)")
    }
    check(index == fields.count, "re-encoding lost fields")
    if writer.bytes.count == input.count { check(writer.bytes == input, "same length but different bytes after re-encoding") }
}

private func sameValue(_ a: ProtoField.Value, _ b: ProtoField.Value) -> Bool {
    switch (a, b) {
    case (.lengthDelimited(let x), .lengthDelimited(let y)): return x.elementsEqual(y)
    default: return a == b
    }
}

private func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        FileHandle.standardError.write(Data("ProtobufWire oracle failed: \(message())\n".utf8))
        abort()
    }
}
