import FoundationEssentials
import Testing
@testable import Basics
@testable import PluginProtocol

/// Basics' replacements for Foundation's NSString path helpers, `String(format:)` and trimming: the
/// same answers, byte for byte, for the inputs the code gives them.
@Suite struct BasicsTextTests {
    @Test(arguments: [
        ("/a/b", "c", "/a/b/c"), ("/a/b/", "c", "/a/b/c"), ("/", "c", "/c"), ("", "c", "c"),
        ("/a", "", "/a"), ("/a", "/c", "/a/c"), ("/a//", "b/c/", "/a/b/c"), ("a", "b", "a/b"),
    ])
    func appendingPathComponent(base: String, component: String, expected: String) {
        #expect(base.appendingPathComponent(component) == expected)
    }

    @Test(arguments: [
        ("/a/b", "b", "/a"), ("/a/b/", "b", "/a"), ("/a", "a", "/"), ("/", "/", "/"), ("", "", ""),
        ("a", "a", ""), ("a/b", "b", "a"), ("//a//b//", "b", "/a"),
    ])
    func lastAndDeletingLast(path: String, last: String, parent: String) {
        #expect(path.lastPathComponent == last)
        #expect(path.deletingLastPathComponent == parent)
    }

    @Test(arguments: [
        ("/a/./b/../c", "/a/c"), ("/../a", "/a"), ("/a//b/", "/a/b"), ("a/../../b", "../b"), ("/", "/"), ("./", "."),
    ])
    func standardizingPath(path: String, expected: String) {
        #expect(path.standardizingPath == expected)
    }

    @Test func resolvingSymlinksUsesTheFileSystemWhenThePathExists() {
        #expect("/proc/self/..".resolvingSymlinksInPath == "/proc")
        #expect("/no/such/../thing".resolvingSymlinksInPath == "/no/thing")
    }

    @Test func theTemporaryDirectoryEndsInASlash() {
        #expect(temporaryDirectoryPath(environment: [:]) == "/tmp/")
        #expect(temporaryDirectoryPath(environment: ["TMPDIR": "/var/tmp"]) == "/var/tmp/")
        #expect(temporaryDirectoryPath(environment: ["TMPDIR": "/x/"]) == "/x/")
    }

    @Test func cFormatGivesPrintfsBytes() {
        #expect(String(cFormat: "%g", 3.0) == "3")
        #expect(String(cFormat: "%g", 0.25) == "0.25")
        #expect(String(cFormat: "%g", 1e-7) == "1e-07")
        #expect(String(cFormat: "%.1f", 2.25) == "2.2")
        #expect(String(cFormat: "%.1fms", 12.345) == "12.3ms")
        #expect(String(cFormat: "%016llx", UInt64(0xabc)) == "0000000000000abc")
        #expect(String(cFormat: "%08x", UInt32(0xdeadbeef)) == "deadbeef")
        #expect(String(cFormat: "calls=%ld", 42) == "calls=42")
        #expect(String(cFormat: "%0300ld!", 7) == String(repeating: "0", count: 299) + "7!", "longer than the first buffer")
    }

    @Test func trimmingMatchesFoundationsSets() {
        #expect(" \t a b \r\n".trimmed() == "a b")
        #expect(" \t a b \n".trimmingSpaces() == "a b \n")
        #expect("\n\na b \n".trimmingNewlines() == "a b ")
        #expect("  ".trimmed() == "")
        #expect("failed. ".trimming { $0 == "." || $0 == " " } == "failed")
        #expect(Substring("  x ").trimmed() == "x")
    }

    /// The ASCII fast path of the three sets answers what the `Character` path answers, for strings
    /// built from pieces that stress its edges: CR LF, combining marks after a space, non-ASCII
    /// whitespace (NBSP, NEL, U+2028, ideographic space), a prepended mark before an ASCII letter.
    @Test func trimmingFastPathAgreesWithCharacters() {
        let pieces = [" ", "\t", "\n", "\r", "\r\n", "\u{0B}", "\u{0C}", "a", "Z", ".", "\u{301}", "e\u{301}",
                      "\u{A0}", "\u{85}", "\u{2028}", "\u{3000}", "\u{600}1", "é", "🇫🇷", ""]
        // Every sequence of up to three pieces (8,420 strings).
        var cases = [""], level = [""]
        for _ in 1...3 {
            level = level.flatMap { prefix in pieces.map { prefix + $0 } }
            cases += level
        }
        for text in cases {
            #expect(text.trimmed() == text.trimming { $0.isWhitespace }, "trimmed \(Array(text.unicodeScalars))")
            #expect(text.trimmingSpaces() == text.trimming { $0.isWhitespace && !$0.isNewline },
                    "trimmingSpaces \(Array(text.unicodeScalars))")
            #expect(text.trimmingNewlines() == text.trimming { $0.isNewline }, "trimmingNewlines \(Array(text.unicodeScalars))")
        }
    }

    @Test func jsonParsingAcceptsAnyValueAndKnowsObjects() {
        #expect(JSONValue.isObject(Data(#"{"a":[1,2]}"#.utf8)))
        #expect(!JSONValue.isObject(Data("[1]".utf8)))
        #expect(!JSONValue.isObject(Data("{".utf8)))
        #expect(JSONValue.parse(Data("7".utf8)) == .number(7))
    }
}

extension BasicsTextTests {
    @Test func paddingCutsOrFillsToTheLength() {
        #expect("ok".paddedWithSpaces(toLength: 6) == "ok    ")
        #expect("warning".paddedWithSpaces(toLength: 6) == "warnin")
        #expect("".paddedWithSpaces(toLength: 0) == "")
    }
}

extension BasicsTextTests {
    @Test(arguments: [
        (#"{}"#, true), (#" {"a": [1, -2.5e+3, 0.0, true, false, null, "x\"\\\/\b\f\n\r\t\u00e9"]} "#, true),
        (#"{"a":{"b":{}}}"#, true), (#"{"a":1,}"#, false), (#"{"a" 1}"#, false), (#"{"a":01}"#, false),
        (#"{"a":1.}"#, false), (#"{"a":-}"#, false), (#"{"a":"\x"}"#, false), (#"{"a":"\u12"}"#, false),
        ("{\"a\":\"\u{01}\"}", false), (#"{} x"#, false), (#"[1]"#, false), (#""s""#, false), ("", false),
        (#"{"a":tru}"#, false), (#"{"a":[1 2]}"#, false), (#"{"a":1e}"#, false), (#"{"é":"ü"}"#, true),
    ])
    func jsonSyntaxKnowsObjects(text: String, isObject: Bool) {
        #expect(JSONSyntax.isObject(Data(text.utf8)) == isObject)
    }

    @Test func jsonSyntaxRefusesBadUTF8AndDeepNesting() {
        #expect(!JSONSyntax.isObject(Data([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D])))  // {"\xFF":1}
        let deep = "{\"a\":" + String(repeating: "[", count: 600) + String(repeating: "]", count: 600) + "}"
        #expect(!JSONSyntax.isObject(Data(deep.utf8)))
        let fine = "{\"a\":" + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}"
        #expect(JSONSyntax.isObject(Data(fine.utf8)))
    }
}

extension BasicsTextTests {
    @Test func rfc3339FormatsExactlyAndRoundTrips() throws {
        #expect(RFC3339.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: 1_795_957_345.9)) == "2026-11-29T13:02:25Z", "whole seconds, rounded down")
        #expect(RFC3339.format(Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00Z")
        // Outside the years the format can write: clamped, never a trap (year -1 trapped before).
        #expect(RFC3339.format(Date(timeIntervalSince1970: -62_200_000_000)) == "0000-01-01T00:00:00Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: 1e15)) == "9999-12-31T23:59:59Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: -1e300)) == "0000-01-01T00:00:00Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: .infinity)) == "9999-12-31T23:59:59Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: .nan)) == "1970-01-01T00:00:00Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: -86_400)) == "1969-12-31T00:00:00Z")
        for seconds in stride(from: 0.0, to: 4_102_444_800, by: 86_399 * 37) {
            let text = RFC3339.format(Date(timeIntervalSince1970: seconds))
            #expect(RFC3339.parse(text) == Date(timeIntervalSince1970: seconds), "\(text)")
        }
        let fractional = try #require(RFC3339.parse("2026-11-29T13:02:25.250Z"))
        #expect(fractional.timeIntervalSince1970 == 1_795_957_345.25)
        #expect(RFC3339.parse("2026-11-30 13:02:25Z") == nil)
        #expect(RFC3339.parse("2026-13-30T13:02:25Z") == nil)
        #expect(RFC3339.parse("2026-11-30T13:02:25+01:00") == nil)
    }
}
