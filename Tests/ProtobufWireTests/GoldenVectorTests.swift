import ProtobufWire
import Testing

/// The golden vectors of shared/contracts/README.md, serialized there by the real protobuf library:
/// our writer must produce exactly those bytes, and our reader must read them back.
@Suite struct GoldenVectorTests {
    /// Splits a gRPC / Connect frame (flag, 4-byte big-endian length, payload) and checks its length.
    func payload(ofFrame frame: [UInt8]) -> [UInt8] {
        #expect(frame[0] == 0)
        let length = frame[1...4].reduce(0) { $0 << 8 | Int($1) }
        #expect(length == frame.count - 5)
        return Array(frame[5...])
    }

    @Test func sandboxCreateRequest() throws {
        let expected = payload(ofFrame: hex("00 00000026 0a0661702d313233121c0a05736c6565700a08696e66696e6974791a06696d2d61626338d804"))
        let message = SandboxCreateRequest(appID: "ap-123", definition: SandboxDefinition(
            entrypointArgs: ["sleep", "infinity"], imageID: "im-abc", timeoutSecs: 600))
        #expect(hex(message.serializedBytes()) == hex(expected))
        #expect(try SandboxCreateRequest(serializedBytes: expected) == message)
    }

    @Test func sandboxTerminateRequest() throws {
        let expected = payload(ofFrame: hex("00 00000008 0a0673622d78797a"))
        let message = SandboxTerminateRequest(sandboxID: "sb-xyz")
        #expect(message.serializedBytes() == expected)
        #expect(try SandboxTerminateRequest(serializedBytes: expected) == message)
    }

    @Test func e2bStartRequest() throws {
        let expected = payload(ofFrame: hex("00 00000020 0a1c0a092f62696e2f6261736812022d6c12022d6312076563686f2068692000"))
        // stdin is `optional bool`: set to false it is still written (the trailing 20 00).
        let message = StartRequest(process: ProcessConfig(cmd: "/bin/bash", args: ["-l", "-c", "echo hi"]), stdin: false)
        #expect(hex(message.serializedBytes()) == hex(expected))
        #expect(try StartRequest(serializedBytes: expected) == message)
    }

    @Test(arguments: [
        ("0a040a02082a", ProcessEvent.start(pid: 42)),
        ("0a0712050a0368690a", ProcessEvent.stdout(Array("hi\n".utf8))),
        ("0a022200", ProcessEvent.keepalive),
    ])
    func e2bEvents(vector: String, event: ProcessEvent) throws {
        #expect(hex(event.serializedBytes()) == vector)
        #expect(try ProcessEvent(serializedBytes: hex(vector)) == event)
    }

    @Test func endEventUsesZigzag() throws {
        let event = ProcessEvent.end(exitCode: -1, exited: true, status: "exit status 255")
        let bytes = event.serializedBytes()
        // end{1: sint32 -1 → zigzag 1}
        #expect(Array(bytes[4...5]) == [0x08, 0x01])
        #expect(try ProcessEvent(serializedBytes: bytes) == event)
    }

    @Test func unknownFieldsOfEveryWireTypeAreSkipped() throws {
        var writer = ProtoWriter()
        writer.uint64(90, 1 << 63)
        writer.fixed64(91, 7)
        writer.string(1, "sb-xyz")
        writer.fixed32(92, 7)
        writer.message(93) { $0.string(1, "nested unknown") }
        writer.bytes(94, [])
        #expect(try SandboxTerminateRequest(serializedBytes: writer.bytes) == SandboxTerminateRequest(sandboxID: "sb-xyz"))
    }

    @Test func mapEntriesAreSortedAndReadBack() throws {
        let config = ProcessConfig(cmd: "env", envs: ["B": "2", "A": "1", "EMPTY": ""], cwd: "/tmp")
        let bytes = config.serializedBytes()
        // The first entry is A=1: 1a 06 (0a 01 41) (12 01 31).
        let first = bytes.firstIndex(of: 0x1a).map { Array(bytes[$0..<$0 + 8]) }
        #expect(first == hex("1a060a0141120131"))
        #expect(try ProcessConfig(serializedBytes: bytes) == config)
    }
}
