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

@Suite struct DurationTests {
    static func generic(_ s: String) -> String {
        "Invalid duration \(s.quotedForMessage): expected a positive whole number followed by s, m, h or d (for example 30m, 4h, 1d)."
    }

    @Test(arguments: [
        ("1s", 1), ("30s", 30), ("15m", 900), ("4h", 14_400), ("1d", 86_400), ("7d", 604_800),
        ("90m", 5_400), ("9223372036854775807s", Int64.max), ("106751991167300d", 106_751_991_167_300 * 86_400),
    ] as [(String, Int64)])
    func parsesValid(_ text: String, _ seconds: Int64) throws {
        #expect(try TTLDuration.parse(text).seconds == seconds)
    }

    @Test(arguments: ["0s", "0d", "00h", "1H", "1D", " 1h", "1h ", "1", "h", "", "-1h", "+1h", "1.5h", "1h30m",
                      "1 h", "1hh", "1ms", "1w", "1y", "１h", "1e3s", "0x10s", "1_000s", "1h\n", "\u{661}h"])
    func refusesInvalid(_ text: String) {
        #expect(throws: ConfigError(code: .invalidDuration, message: Self.generic(text))) {
            try TTLDuration.parse(text)
        }
    }

    @Test func leadingZerosGetAHint() {
        #expect(throws: ConfigError(code: .invalidDuration,
                                    message: "Invalid duration \"01h\": leading zeros are not allowed (write 1h).")) {
            try TTLDuration.parse("01h")
        }
    }

    @Test(arguments: ["9223372036854775808s", "99999999999999999d", "106751991167301d", "2562047788015216h",
                      "153722867280912931m", "99999999999999999999999999999s"])
    func overflowIsAnErrorNotACrash(_ text: String) {
        #expect(throws: ConfigError(code: .invalidDuration,
                                    message: "Invalid duration \(text.quotedForMessage): it is too large to represent in seconds.")) {
            try TTLDuration.parse(text)
        }
    }

    @Test func messageForTheBriefsExample() throws {
        let error = try #require(throws: ConfigError.self) { try TTLDuration.parse("1.5h") }
        #expect(error.description == "Invalid duration \"1.5h\": expected a positive whole number followed by s, m, h or d (for example 30m, 4h, 1d).")
        #expect(error.line == nil)
    }

    @Test(arguments: [
        (1, "1s"), (59, "59s"), (60, "1m"), (5_400, "90m"), (7_200, "2h"), (86_400, "1d"), (90_000, "25h"),
        (86_401, "86401s"), (172_800, "2d"), (0, "0s"), (-60, "-1m"), (Int64.max, "9223372036854775807s"),
    ] as [(Int64, String)])
    func descriptionUsesTheLargestExactUnit(_ seconds: Int64, _ text: String) {
        #expect(TTLDuration(seconds: seconds).description == text)
    }

    @Test(arguments: ["120m", "86400s", "3600s", "48h", "90m", "1d", "61s", "1440m"])
    func descriptionRoundTrips(_ text: String) throws {
        let d = try TTLDuration.parse(text)
        #expect(try TTLDuration.parse(d.description) == d)
    }

    @Test func normalizesToTheLargestUnit() throws {
        #expect(try TTLDuration.parse("120m").description == "2h")
        #expect(try TTLDuration.parse("86400s").description == "1d")
        #expect(try TTLDuration.parse("90m").description == "90m")
    }

    @Test func comparesBySeconds() throws {
        #expect(try TTLDuration.parse("59m") < TTLDuration.parse("1h"))
        #expect(try TTLDuration.parse("60m") == TTLDuration.parse("1h"))
        #expect(try TTLDuration.parse("2d") > TTLDuration.parse("47h"))
    }

    @Test func codableUsesTheWrittenForm() throws {
        let data = try JSONEncoder().encode(["ttl": TTLDuration(seconds: 7_200)])
        #expect(String(decoding: data, as: UTF8.self) == #"{"ttl":"2h"}"#)
        let back = try JSONDecoder().decode([String: TTLDuration].self, from: data)
        #expect(back["ttl"]?.seconds == 7_200)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([String: TTLDuration].self, from: Data(#"{"ttl":"1.5h"}"#.utf8))
        }
    }
}
