// libFuzzer target for HTTPRequestParser, built by fuzz/run.sh with
// `swiftc -sanitize=fuzzer -parse-as-library` with every source file of the HTTPServer target (no SwiftPM).
//
// Oracles beyond "does not crash":
//  1. Feeding the input in two pieces (split point from the first byte) or byte by byte gives
//     exactly the events of feeding it whole: the parser is a pure function of the byte stream.
//     (Except `continueExpected`, which by design is only reported when the body has not yet arrived.)
//  2. Every request it accepts is safe to route: origin-form or `*`, no NUL, no dot segment,
//     a token method, a body of exactly its Content-Length within the limit.
//  3. At most one error, and it is the last event; its status is one the server answers with.

import Foundation

private let maxHeaderBytes = 512
private let maxBodyBytes = 256

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequestParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var whole = HTTPRequestParser(maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
    let expected = whole.feed(bytes)
    let comparable = withoutContinue(expected)

    let split = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    var twoPieces = HTTPRequestParser(maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
    let pieces = twoPieces.feed(Array(bytes[..<split])) + twoPieces.feed(Array(bytes[split...]))
    check(withoutContinue(pieces) == comparable, "two-piece feed differs from a whole feed (split \(split))")

    if bytes.count <= 2048 {
        var single = HTTPRequestParser(maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
        var events: [HTTPRequestParser.Event] = []
        for byte in bytes { events += single.feed([byte]) }
        check(withoutContinue(events) == comparable, "byte-by-byte feed differs from a whole feed")
    }

    for (index, event) in expected.enumerated() {
        switch event {
        case .request(let request):
            check(request.path == "*" || request.path.hasPrefix("/"), "path not origin-form: \(request.path)")
            check(!request.path.utf8.contains(0), "NUL in path")
            check(!request.path.split(separator: "/", omittingEmptySubsequences: false).contains { $0 == ".." || $0 == "." },
                  "dot segment in path \(request.path)")
            check(!request.method.isEmpty && request.method.utf8.allSatisfy(HTTPRequestParser.isTokenByte), "bad method")
            check(request.version == "HTTP/1.1" || request.version == "HTTP/1.0", "bad version")
            check(request.body.count <= maxBodyBytes, "body over the limit")
            check(request.body.count == Int(request.headers["Content-Length"] ?? "0"), "body length mismatch")
            check(!request.headers.contains("Transfer-Encoding"), "Transfer-Encoding accepted")
        case .error(let error):
            check(index == expected.count - 1, "events after an error")
            check([400, 411, 413, 431, 505].contains(error.status), "unexpected status \(error.status)")
        case .continueExpected:
            break
        }
    }
    return 0
}

private func withoutContinue(_ events: [HTTPRequestParser.Event]) -> [HTTPRequestParser.Event] {
    events.filter { $0 != .continueExpected }
}

private func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("HTTP parser oracle failed: \(message())") }
}
