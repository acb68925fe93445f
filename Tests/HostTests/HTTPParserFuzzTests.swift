import Foundation
import Testing
@testable import Basics
@testable import HTTPServer
@testable import YAMLSubset
@testable import PluginProtocol
@testable import Core
@testable import Config
@testable import Store
@testable import Backends
@testable import Lifecycle
@testable import Webhooks
@testable import API
@testable import CLI

/// The libFuzzer target's oracles (fuzz/HTTPRequestParserFuzz.swift) on 20,000 deterministic
/// mutations of the committed corpus, so every `swift test` run fuzzes a little without libFuzzer.
@Suite("HTTPRequestParser deterministic fuzz")
struct HTTPParserFuzzTests {
    /// SplitMix64, seeded: every run sees the same inputs.
    struct Mixer: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let tokens: [[UInt8]] = ["\r\n", "\r\n\r\n", "\n", "\r", " ", ":", "%", "%2F", "%2E%2E", "%00", "/..", "?",
                                    "&", "=", "+", "Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n", "Host: y\r\n",
                                    "Expect: 100-continue\r\n", " HTTP/1.0", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "\u{0}", "\t"]
        .map { Array($0.utf8) }

    static func seeds() throws -> [[UInt8]] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let directory = root.appendingPathComponent("fuzz/corpus/http-request")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        return try names.map { Array(try Data(contentsOf: directory.appendingPathComponent($0))) }
    }

    static func mutate(_ input: [UInt8], other: [UInt8], using rng: inout Mixer) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let at = bytes.isEmpty ? 0 : Int.random(in: 0...bytes.count, using: &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0 where at < bytes.count: bytes[at] = UInt8.random(in: 0...255, using: &rng)
            case 1: bytes.insert(contentsOf: tokens.randomElement(using: &rng)!, at: at)
            case 2 where at < bytes.count: bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...8, using: &rng)))
            case 3 where at < bytes.count:
                let end = min(bytes.count, at + Int.random(in: 1...16, using: &rng))
                bytes.insert(contentsOf: bytes[at..<end], at: at)
            case 4: bytes = Array(bytes[..<at]) + other[min(other.count, at)...]
            default: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: at)
            }
        }
        return bytes
    }

    static func withoutContinue(_ events: [HTTPRequestParser.Event]) -> [HTTPRequestParser.Event] {
        events.filter { $0 != .continueExpected }
    }

    @Test func mutatedRequestsKeepTheParserInvariants() throws {
        let seeds = try Self.seeds()
        #expect(seeds.count >= 20)
        var rng = Mixer(state: 0x5EED_4E77)
        var accepted = 0, refused = 0
        for iteration in 0..<20_000 {
            let input = Self.mutate(seeds[iteration % seeds.count], other: seeds.randomElement(using: &rng)!, using: &rng)
            var whole = HTTPRequestParser(maxHeaderBytes: 512, maxBodyBytes: 256)
            let expected = whole.feed(input)
            let split = Int.random(in: 0...input.count, using: &rng)
            var pieces = HTTPRequestParser(maxHeaderBytes: 512, maxBodyBytes: 256)
            let events = pieces.feed(Array(input[..<split])) + pieces.feed(Array(input[split...]))
            guard Self.withoutContinue(events) == Self.withoutContinue(expected) else {
                Issue.record("split at \(split) differs for \(String(decoding: input, as: UTF8.self).debugDescription)")
                return
            }
            for (index, event) in expected.enumerated() {
                switch event {
                case .request(let request):
                    accepted += 1
                    #expect(!request.path.utf8.contains(0))
                    #expect(!request.path.split(separator: "/", omittingEmptySubsequences: false).contains { $0 == ".." || $0 == "." })
                    #expect(request.body.count == Int(request.headers["Content-Length"] ?? "0"))
                case .error(let error):
                    refused += 1
                    #expect(index == expected.count - 1)
                    #expect([400, 411, 413, 431, 505].contains(error.status))
                case .continueExpected:
                    break
                }
            }
        }
        // The mutations must reach both sides of the parser, or the test proves little.
        #expect(accepted > 1000)
        #expect(refused > 1000)
    }
}
