import Foundation
import Testing
@testable import Basics
@testable import HTTPServer

/// The pieces of the GET path made cheaper in session 6 answer exactly what they answered before:
/// each is compared with the code it replaced, kept here as the reference.
@Suite struct HTTPGetPathTests {
    /// The dot-segment test before session 6: split by Character.
    static func referenceHasDotSegment(_ path: String) -> Bool {
        path.split(separator: "/", omittingEmptySubsequences: false).contains { $0 == ".." || $0 == "." }
    }

    @Test func dotSegmentsAsBefore() {
        let paths = ["/", "", ".", "..", "...", "/.", "/..", "/...", "/./", "/../", "/a/./b", "/a/../b", "/a/.../b",
                     "/a.", "/.a", "/a/..", "/a/.", "//..//", "/a/b/", "/.%2E", "/v1/sandboxes/x",
                     // Not ASCII: a "/" followed by a combining mark is no separator (by Character).
                     "/../\u{301}x", "/\u{301}../x", "/..\u{301}/x", "/é/../x", "/é/.", "/x/\u{301}.."]
        for path in paths {
            #expect(RequestTarget.hasDotSegment(decoded: Array(path.utf8), path: path) == Self.referenceHasDotSegment(path), "\(path)")
        }
        // Through the parser: the answer for a dot segment is unchanged, and a combining mark after
        // a "/" still hides the dot segment from the Character split (the behaviour as it was).
        #expect((try? RequestTarget.parse(Array("/a/%2E%2E/b".utf8), method: "GET").get()) == nil)
        #expect((try? RequestTarget.parse(Array("/a/../b".utf8), method: "GET").get()) == nil)
        #expect((try? RequestTarget.parse(Array("/../%CC%81x".utf8), method: "GET").get())?.path == "/../\u{301}x")
        #expect((try? RequestTarget.parse(Array("/a/...".utf8), method: "GET").get())?.path == "/a/...")
    }

    /// The access-log line before session 6: fields interpolated into an array and joined.
    static func referenceLine(_ e: AccessLogEntry) -> String {
        func value(_ text: String) -> String {
            let safe = !text.isEmpty && text.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F && $0 != "\"" && $0 != "=" && $0 != "\\" }
            return safe ? text : JSONText.quote(text)
        }
        let tenths = Int((max(e.durationSeconds, 0) * 10_000).rounded())
        var fields = [
            "ts=\(RFC3339.format(e.timestamp))", "method=\(value(e.method))", "path=\(value(e.path))",
            "status=\(e.status)", "bytes=\(e.bytes)", "duration_ms=\(tenths / 10).\(tenths % 10)",
            "remote=\(value(e.remoteAddress))",
        ]
        if let requestId = e.requestId { fields.append("request_id=\(value(requestId))") }
        return fields.joined(separator: " ")
    }

    @Test func accessLogLineAsBefore() {
        // Seconds out of order and repeated: the per-second timestamp cache must follow every change.
        let seconds: [Double] = [1_700_000_000, 1_700_000_000.999, 1_700_000_001, 1_600_000_000.5, 1_700_000_001.2, 0, 0.5]
        let paths = ["/v1/sandboxes/x", "/v1/a b", "/é", "/q\"uote", "/a=b", "/back\\slash", "", "/\u{7F}"]
        for (i, second) in seconds.enumerated() {
            for path in paths {
                let entry = AccessLogEntry(timestamp: Date(timeIntervalSince1970: second), method: i % 2 == 0 ? "GET" : "-",
                                           path: path, status: 200 + i, bytes: i * 100, durationSeconds: Double(i) * 0.00037,
                                           remoteAddress: i == 3 ? "unix" : "127.0.0.1:5555", requestId: i == 2 ? nil : "r-\(i)")
                #expect(entry.line == Self.referenceLine(entry))
            }
        }
    }
}
