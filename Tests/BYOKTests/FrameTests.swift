import Foundation
import Testing
@testable import BYOK
import PluginKit

@Suite struct FrameTests {
    @Test func stdinIsChunkedAndEnded() throws {
        let bytes = Data((0..<150_000).map { UInt8($0 & 0xff) })
        var decoder = FrameDecoder()
        let frames = try decoder.push(Frame.stdinStream(bytes))
        #expect(frames.map(\.type) == [1, 1, 1, 2])
        #expect(frames.map(\.payload.count) == [65536, 65536, 150_000 - 131_072, 0])
        #expect(Data(frames.dropLast().flatMap(\.payload)) == bytes)
    }

    @Test func framesSplitAcrossReadsAreReassembled() throws {
        let stream = Frame(type: 1, payload: Data("hello".utf8)).encoded + Frame(type: 3, payload: Data("{}".utf8)).encoded
        var decoder = FrameDecoder()
        var got: [Frame] = []
        for byte in stream { got += try decoder.push(Data([byte])) }
        #expect(got == [Frame(type: 1, payload: Data("hello".utf8)), Frame(type: 3, payload: Data("{}".utf8))])
        #expect(decoder.finished)
    }

    @Test func oversizedUnknownAndTrailingFramesAreRefused() {
        var a = FrameDecoder()
        #expect(throws: PluginError.self) { try a.push(Data([1, 0, 1, 0, 1])) }  // 65537 bytes
        var b = FrameDecoder()
        #expect(throws: PluginError.self) { try b.push(Data([9, 0, 0, 0, 0])) }
        var c = FrameDecoder()
        #expect(throws: PluginError.self) {
            try c.push(Frame(type: 3, payload: Data("{}".utf8)).encoded + Frame(type: 1, payload: Data()).encoded)
        }
    }

    @Test func shellQuotingSurvivesQuotes() {
        #expect(ShellQuote.word("plain/path-1.0") == "plain/path-1.0")
        #expect(ShellQuote.word("it's") == "'it'\\''s'")
        #expect(ShellQuote.word("") == "''")
        #expect(ShellQuote.line(["echo", "a b", "$HOME"]) == "echo 'a b' '$HOME'")
    }

    @Test func masterBackoffDoublesAndIsCapped() {
        var s = MasterState()
        let t0 = Date(timeIntervalSince1970: 1000)
        #expect(s.wanted(now: t0) == .spawn)
        #expect(s.wanted(now: t0) == .none)  // already starting
        #expect(s.exited(now: t0, message: "refused") == .spawnAt(t0.addingTimeInterval(0.5)))
        #expect(s.wanted(now: t0) == .none)  // within the backoff: the caller is told it is down
        #expect(s.retryDue(now: t0.addingTimeInterval(0.5)) == .spawn)
        #expect(s.exited(now: t0, message: nil) == .spawnAt(t0.addingTimeInterval(1)))
        s.connected()
        #expect(s.phase == .up && s.failures == 0)
        #expect(MasterState.backoff(failures: 20) == 30)
    }
}
