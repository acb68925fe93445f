@testable import GRPCClient
import Testing

/// Framing without a server: golden frames, any chunking, and every refusal.
@Suite struct GRPCFrameDecoderTests {
    /// Feeds `bytes` in chunks of `size` and returns the messages, or the refusal.
    func decode(_ bytes: [UInt8], chunk size: Int, limit: Int = 1 << 20) -> Result<[[UInt8]], GRPCStatus> {
        var decoder = GRPCFrameDecoder(maxMessageBytes: limit)
        var messages: [[UInt8]] = []
        do {
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + size)
                try decoder.feed(Array(bytes[start..<end])) { (message: [UInt8]) throws(GRPCStatus) in messages.append(message) }
                start = end
            }
            guard decoder.isAtBoundary else { return .failure(GRPCStatus(code: .internal, message: "ended mid-frame")) }
            return .success(messages)
        } catch {
            return .failure(error)
        }
    }

    @Test func goldenFramesFromTheContract() {
        // SandboxTerminateRequest{sandbox_id:"sb-xyz"} framed, as Modal's real client sends it.
        let message: [UInt8] = [0x0a, 0x06] + Array("sb-xyz".utf8)
        #expect(GRPCFrame.encode(message) == [0x00, 0x00, 0x00, 0x00, 0x08] + message)
        let create: [UInt8] = [0x0a, 0x06] + Array("ap-123".utf8)
        #expect(Array(GRPCFrame.encode(create).prefix(5)) == [0, 0, 0, 0, 8])
        #expect(GRPCFrame.encode([]) == [0, 0, 0, 0, 0])
        #expect(Array(GRPCFrame.encode([UInt8](repeating: 1, count: 0x01_0203)).prefix(5)) == [0, 0, 0x01, 0x02, 0x03])
    }

    @Test(arguments: [1, 2, 3, 5, 7, 1000])
    func messagesSurviveAnyChunking(_ size: Int) throws {
        let messages: [[UInt8]] = [[], [1], Array(0..<200).map { UInt8($0) }, [], [9, 9]]
        let stream = messages.flatMap(GRPCFrame.encode)
        #expect(try decode(stream, chunk: size).get() == messages)
    }

    @Test func compressedFramesAreRefused() {
        let result = decode([1, 0, 0, 0, 1, 0xAA], chunk: 100)
        #expect(throws: GRPCStatus.self) { try result.get() }
        if case .failure(let status) = result {
            #expect(status.code == .internal)
            #expect(status.message.contains("compressed"))
        }
        if case .failure(let status) = decode([0x80, 0, 0, 0, 0], chunk: 1) { #expect(status.code == .internal) } else { Issue.record("flag 0x80 accepted") }
    }

    @Test func oversizedFramesAreRefusedFromTheHeaderAlone() throws {
        // Only the 5-byte header arrives: the refusal must not wait for (or buffer) the payload.
        let result = decode([0, 0xFF, 0xFF, 0xFF, 0xFF], chunk: 5, limit: 16 << 20)
        guard case .failure(let status) = result else { Issue.record("a 4 GiB frame was accepted"); return }
        #expect(status.code == .resourceExhausted)
        #expect(status.message.contains("4294967295 bytes"))
        // Exactly at the limit is fine.
        #expect(try decode(GRPCFrame.encode([UInt8](repeating: 7, count: 64)), chunk: 9, limit: 64).get().count == 1)
        #expect(throws: GRPCStatus.self) { try decode(GRPCFrame.encode([UInt8](repeating: 7, count: 65)), chunk: 9, limit: 64).get() }
    }

    @Test func aBodyEndingMidFrameIsNotABoundary() throws {
        var decoder = GRPCFrameDecoder(maxMessageBytes: 100)
        try decoder.feed([0, 0, 0]) { (_: [UInt8]) throws(GRPCStatus) in }
        #expect(!decoder.isAtBoundary)
        try decoder.feed([0, 2, 1]) { (_: [UInt8]) throws(GRPCStatus) in }
        #expect(!decoder.isAtBoundary)
        var got: [[UInt8]] = []
        try decoder.feed([2]) { (message: [UInt8]) throws(GRPCStatus) in got.append(message) }
        #expect(decoder.isAtBoundary)
        #expect(got == [[1, 2]])
    }
}
