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

/// Feeds `text` in one piece and returns the events.
func parse(_ text: String, maxHeaderBytes: Int = 16 * 1024, maxBodyBytes: Int = 1 << 20) -> [HTTPRequestParser.Event] {
    var parser = HTTPRequestParser(maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
    return parser.feed(Array(text.utf8))
}

/// The status of the single error event in `events`, or nil.
func errorStatus(_ events: [HTTPRequestParser.Event]) -> Int? {
    for case .error(let error) in events { return error.status }
    return nil
}

func requests(_ events: [HTTPRequestParser.Event]) -> [HTTPRequest] {
    events.compactMap { if case .request(let r) = $0 { r } else { nil } }
}

@Suite("HTTPRequestParser")
struct HTTPParserTests {
    @Test func parsesASimpleGet() throws {
        let events = parse("GET /v1/sandboxes?state=ready HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n")
        let request = try #require(requests(events).first)
        #expect(events.count == 1)
        #expect(request.method == "GET")
        #expect(request.target == "/v1/sandboxes?state=ready")
        #expect(request.path == "/v1/sandboxes")
        #expect(request.rawPath == "/v1/sandboxes")
        #expect(request.query == ["state": ["ready"]])
        #expect(request.version == "HTTP/1.1")
        #expect(request.headers["accept"] == "*/*")
        #expect(request.body.isEmpty)
        #expect(request.keepAlive)
    }

    @Test func readsABodyByContentLength() throws {
        let events = parse("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        #expect(try #require(requests(events).first).body == Data("hello".utf8))
    }

    @Test func waitsForTheWholeBody() {
        var parser = HTTPRequestParser()
        #expect(parser.feed(Array("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhel".utf8)).isEmpty)
        #expect(parser.isReadingBody)
        #expect(parser.hasPartialRequest)
        #expect(requests(parser.feed(Array("lo".utf8))).first?.body == Data("hello".utf8))
        #expect(!parser.hasPartialRequest)
    }

    @Test func pipelinedRequestsSplitAtEveryByteBoundaryGiveTheSameRequests() {
        let text = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
            + "POST /b?k=1&k=2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
            + "HEAD /c%20d HTTP/1.0\r\n\r\n"
        let bytes = Array(text.utf8)
        let whole = parse(text)
        #expect(requests(whole).map(\.path) == ["/a", "/b", "/c d"])
        for split in 0...bytes.count {
            var parser = HTTPRequestParser()
            let events = parser.feed(Array(bytes[..<split])) + parser.feed(Array(bytes[split...]))
            #expect(events == whole, "split at \(split)")
        }
        // And one byte at a time.
        var parser = HTTPRequestParser()
        var events: [HTTPRequestParser.Event] = []
        for byte in bytes { events += parser.feed([byte]) }
        #expect(events == whole)
    }

    @Test func headerLimitIsExactAndAnswers431() {
        let head = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: "
        let fixed = head.utf8.count + 4  // "\r\n\r\n"
        let limit = 200
        let exact = head + String(repeating: "a", count: limit - fixed) + "\r\n\r\n"
        #expect(exact.utf8.count == limit)
        #expect(requests(parse(exact, maxHeaderBytes: limit)).count == 1)
        let over = head + String(repeating: "a", count: limit - fixed + 1) + "\r\n\r\n"
        #expect(errorStatus(parse(over, maxHeaderBytes: limit)) == 431)
        // A head that never ends is refused as soon as it reaches the limit, not buffered forever.
        var parser = HTTPRequestParser(maxHeaderBytes: limit)
        #expect(parser.feed(Array((head + String(repeating: "a", count: limit - head.utf8.count - 1)).utf8)).isEmpty)
        #expect(errorStatus(parser.feed(Array("a".utf8))) == 431)
    }

    @Test func hugeHeaderIsRefusedWith431() {
        let text = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "b", count: 100_000))\r\n\r\n"
        #expect(errorStatus(parse(text)) == 431)
    }

    @Test func bodyOverTheLimitIs413BeforeTheBodyArrives() {
        let events = parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n", maxBodyBytes: 1000)
        #expect(errorStatus(events) == 413)
        #expect(errorStatus(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n")) == 413)
        #expect(requests(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", maxBodyBytes: 3)).count == 1)
    }

    @Test(arguments: [
        "Content-Length: 3\r\nContent-Length: 3",
        "Content-Length: 3\r\nContent-Length: 4",
        "Content-Length: 3, 3",
        "Content-Length: -3",
        "Content-Length: +3",
        "Content-Length: 0x10",
        "Content-Length: ",
        "Content-Length: 3 3",
    ])
    func invalidOrDuplicateContentLengthIs400(_ field: String) {
        #expect(errorStatus(parse("POST / HTTP/1.1\r\nHost: x\r\n\(field)\r\n\r\nabc")) == 400)
    }

    @Test(arguments: ["chunked", "gzip, chunked", "identity"])
    func anyTransferEncodingIs411(_ coding: String) throws {
        let events = parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \(coding)\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        #expect(events.count == 1)
        #expect(errorStatus(events) == 411)
    }

    @Test(arguments: [
        "GET / HTTP/1.1\nHost: x\n\n",                 // bare LF line endings
        "GET / HTTP/1.1\r\nHost: x\n\r\n",             // one bare LF
        "GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n",     // bare CR
        "GET  / HTTP/1.1\r\nHost: x\r\n\r\n",          // double space
        "GET /\r\nHost: x\r\n\r\n",                    // HTTP/0.9 style
        "G(T / HTTP/1.1\r\nHost: x\r\n\r\n",           // invalid method token
        "GET http://example.com/ HTTP/1.1\r\nHost: x\r\n\r\n",  // absolute-form
        "CONNECT example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n",  // authority-form
        "GET * HTTP/1.1\r\nHost: x\r\n\r\n",           // asterisk-form without OPTIONS
        "GET /a/../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",     // traversal
        "GET /a/%2E%2E/b HTTP/1.1\r\nHost: x\r\n\r\n", // encoded traversal
        "GET /a%2F..%2Fb HTTP/1.1\r\nHost: x\r\n\r\n", // traversal behind %2F
        "GET /./a HTTP/1.1\r\nHost: x\r\n\r\n",        // dot segment
        "GET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n",      // NUL
        "GET /a%zzb HTTP/1.1\r\nHost: x\r\n\r\n",      // invalid escape
        "GET /a%2 HTTP/1.1\r\nHost: x\r\n\r\n",        // truncated escape
        "GET /%C3%28 HTTP/1.1\r\nHost: x\r\n\r\n",     // invalid UTF-8
        "GET /?q=%00 HTTP/1.1\r\nHost: x\r\n\r\n",     // NUL in query
        "GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n",     // fragment
        "GET / HTTP/1.1\r\n\r\n",                      // no Host on 1.1
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",  // two Hosts
        "GET / HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nName : y\r\n\r\n", // space before colon
        "GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n folded\r\n\r\n",  // obs-fold
        "GET / HTTP/1.1\r\nHost: x\r\nA: b\u{01}c\r\n\r\n",      // control byte in a value
        "GET / HTTP/1.1\r\nHost: x\r\n: empty\r\n\r\n",
        "GET / HTTP/x.y\r\nHost: x\r\n\r\n",
        "\u{00}GET / HTTP/1.1\r\n\r\n",
    ])
    func malformedRequestsAre400(_ text: String) {
        #expect(errorStatus(parse(text)) == 400, "\(text.debugDescription)")
    }

    @Test func otherHTTPVersionsAre505() {
        #expect(errorStatus(parse("GET / HTTP/2.0\r\nHost: x\r\n\r\n")) == 505)
        #expect(errorStatus(parse("GET / HTTP/1.2\r\nHost: x\r\n\r\n")) == 505)
    }

    @Test func percentDecodingKeepsEncodedSlashesAndRawPath() throws {
        let request = try #require(requests(parse("GET /v1/a%2Fb/c%20d/%E2%9C%93 HTTP/1.1\r\nHost: x\r\n\r\n")).first)
        #expect(request.path == "/v1/a/b/c d/✓")
        #expect(request.rawPath == "/v1/a%2Fb/c%20d/%E2%9C%93")
        #expect(request.pathSegments == ["v1", "a/b", "c d", "✓"])
    }

    @Test func queryParsingKeepsRepeatedKeysInOrder() throws {
        let request = try #require(requests(parse(
            "GET /x?label=a%3D1&label=b+2&flag&empty=&=v&&%E2%9C%93=yes HTTP/1.1\r\nHost: x\r\n\r\n")).first)
        #expect(request.query["label"] == ["a=1", "b 2"])
        #expect(request.query["flag"] == [""])
        #expect(request.query["empty"] == [""])
        #expect(request.query[""] == ["v"])
        #expect(request.query["✓"] == ["yes"])
        #expect(request.queryValue("label") == "a=1")
    }

    @Test func headAndOptionsAsterisk() throws {
        let head = try #require(requests(parse("HEAD /x HTTP/1.1\r\nHost: x\r\n\r\n")).first)
        #expect(head.method == "HEAD")
        let options = try #require(requests(parse("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n")).first)
        #expect(options.path == "*")
    }

    @Test func keepAliveFollowsVersionAndConnectionHeader() throws {
        func keepAlive(_ text: String) throws -> Bool { try #require(requests(parse(text)).first).keepAlive }
        #expect(try keepAlive("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(try !keepAlive("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
        #expect(try !keepAlive("GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, Close\r\n\r\n"))
        #expect(try !keepAlive("GET / HTTP/1.0\r\n\r\n"))
        #expect(try keepAlive("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"))
    }

    @Test func expectContinueIsReportedBeforeTheBody() {
        var parser = HTTPRequestParser()
        let head = parser.feed(Array("PUT /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n".utf8))
        #expect(head == [.continueExpected])
        #expect(requests(parser.feed(Array("ok".utf8))).first?.body == Data("ok".utf8))
    }

    @Test func leadingEmptyLinesAreIgnoredAndHeaderValuesTrimmed() throws {
        let request = try #require(requests(parse("\r\n\r\nGET / HTTP/1.1\r\nHost:   x \t\r\nEmpty:\r\n\r\n")).first)
        #expect(request.headers["Host"] == "x")
        #expect(request.headers["Empty"] == "")
    }

    @Test func afterAnErrorTheParserIgnoresInput() {
        var parser = HTTPRequestParser()
        let events = parser.feed(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\nBAD\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(requests(events).count == 1)
        #expect(errorStatus(events) == 400)
        #expect(parser.hasFailed)
        #expect(parser.feed(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)).isEmpty)
    }

    @Test func headersAreOrderedAndCaseInsensitive() {
        var headers: HTTPHeaders = ["Set-Cookie": "a", "X-One": "1"]
        headers.add("set-cookie", "b")
        #expect(headers.values("SET-COOKIE") == ["a", "b"])
        headers.set("x-one", "2")
        #expect(headers["X-ONE"] == "2")
        #expect(headers.values("X-One").count == 1)
        #expect(headers.map(\.name) == ["Set-Cookie", "set-cookie", "x-one"])
        headers.remove("SET-cookie")
        #expect(headers.count == 1)
    }
}
