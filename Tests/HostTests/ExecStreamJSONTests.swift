import FoundationEssentials
import Testing
@testable import PluginProtocol

/// The exec-stream messages written and read without `Codable` (`Messages+ExecStreamJSON`) are
/// byte for byte what `JSONEncoder` with `.sortedKeys` writes, and read what `JSONDecoder` reads
/// (and refuse what it refuses, in the same words): either side of the ABI may still use `Codable`.
@Suite struct ExecStreamJSONTests {
    static func encoded<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func text(_ data: Data) -> String { String(decoding: data, as: UTF8.self) }

    /// Strings JSONEncoder escapes in every way it has: quotes, backslash, slash, named and numbered
    /// control characters, and text it leaves alone (DEL, non-ASCII, U+2028, an emoji).
    static let awkward = "a/b\"c\\d\n\r\t\u{8}\u{C}\u{1}\u{1F}\u{7F}é\u{2028}😀"

    static let starts: [ExecStartRequest] = [
        ExecStartRequest(sandboxId: "sbx-1", backendRef: "sbx-1", argv: ["true"]),
        ExecStartRequest(sandboxId: "sbx-2", backendRef: "ref/2", argv: ["sh", "-c", awkward, ""],
                         env: ["A_B": "1", "AB": "2", "a": awkward, "_x": "", "x10": "y", "x2": "z", "é": "e", "Z": "/"],
                         stdin: true, timeoutSeconds: 30),
        ExecStartRequest(sandboxId: "s", backendRef: "r", argv: [], env: [:], stdin: false, timeoutSeconds: -1),
    ]

    @Test func requestsAreJSONEncodersBytes() throws {
        for start in Self.starts {
            #expect(Self.text(start.jsonData) == (try Self.encoded(start)))
        }
        let reads = [ExecReadRequest(sandboxId: "s", handle: "xs-00ff", stream: "stdout", offset: 0, maxBytes: 262_144, waitMs: 500),
                     ExecReadRequest(sandboxId: Self.awkward, handle: "h", stream: "stderr", offset: 1 << 40, maxBytes: 0, waitMs: 0)]
        for read in reads { #expect(Self.text(read.jsonData) == (try Self.encoded(read))) }
        let writes = [ExecWriteRequest(sandboxId: "s", handle: "h", data: Data([0, 1, 2, 250, 251, 252, 253, 254, 255]), waitMs: 500),
                      ExecWriteRequest(sandboxId: "s", handle: "h", close: true),
                      ExecWriteRequest(sandboxId: "s", handle: "h", data: Data("x".utf8), close: false, waitMs: 0)]
        for write in writes { #expect(Self.text(write.jsonData) == (try Self.encoded(write))) }
        let wait = ExecWaitRequest(sandboxId: "s", handle: "h", waitMs: 500)
        #expect(Self.text(wait.jsonData) == (try Self.encoded(wait)))
        let kill = ExecKillRequest(sandboxId: "s", handle: "h", signal: 9)
        #expect(Self.text(kill.jsonData) == (try Self.encoded(kill)))
        let ref = ExecHandleRef(sandboxId: "s", handle: Self.awkward)
        #expect(Self.text(ref.jsonData) == (try Self.encoded(ref)))
        #expect(Self.text(EmptyResponse.jsonData) == (try Self.encoded(EmptyResponse())))
    }

    @Test func responsesAreJSONEncodersBytes() throws {
        let start = ExecStartResponse(handle: "xs-0123456789abcdef")
        #expect(Self.text(start.jsonData) == (try Self.encoded(start)))
        for read in [ExecReadResponse(data: Data(), eof: true, nextOffset: 0),
                     ExecReadResponse(data: Data((0..<255).map { UInt8($0) }), eof: false, nextOffset: 1_000_255)] {
            #expect(Self.text(read.jsonData) == (try Self.encoded(read)))
        }
        let write = ExecWriteResponse(accepted: 65_536, closed: false)
        #expect(Self.text(write.jsonData) == (try Self.encoded(write)))
        for wait in [ExecWaitResponse(state: ExecWaitResponse.running),
                     ExecWaitResponse(state: ExecWaitResponse.exited, exitCode: 137, signal: 9, timedOut: true),
                     ExecWaitResponse(state: ExecWaitResponse.exited, exitCode: -1, timedOut: false)] {
            #expect(Self.text(wait.jsonData) == (try Self.encoded(wait)))
        }
    }

    @Test func aMegabyteOfBase64RoundTrips() throws {
        let bytes = Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let read = ExecReadResponse(data: bytes, eof: false, nextOffset: 1 << 20)
        #expect(read.jsonData == (try { let e = JSONEncoder(); e.outputFormatting = [.sortedKeys]; return try e.encode(read) }()))
        let back = try ExecReadResponse(json: read.jsonData)
        #expect(back == read && back.data == bytes)
    }

    @Test func readsWhatJSONDecoderReads() throws {
        for start in Self.starts {
            #expect(try ExecStartRequest(json: start.jsonData) == start)
        }
        // Unknown members are ignored, a null optional is nil, whitespace and escapes are JSON's.
        let text = #" { "sandbox_id" : "s", "backend_ref":"r", "argv":["a\/b","\u00e9\ud83d\ude00"], "env":{}, "stdin":null, "extra":[1,{"x":2}] } "#
        let mine = try ExecStartRequest(json: Data(text.utf8))
        #expect(mine == (try JSONDecoder().decode(ExecStartRequest.self, from: Data(text.utf8))))
        #expect(mine.argv == ["a/b", "é😀"] && mine.stdin == nil)
        let wait = #"{"state":"exited","exit_code":2,"signal":null}"#
        #expect(try ExecWaitResponse(json: Data(wait.utf8)) == (try JSONDecoder().decode(ExecWaitResponse.self, from: Data(wait.utf8))))
        #expect(try ExecHandleRef(json: Data(#"{"handle":"h","sandbox_id":"s"}"#.utf8)) == ExecHandleRef(sandboxId: "s", handle: "h"))
    }

    @Test(arguments: [
        (#"{"backend_ref":"r","argv":[],"env":{}}"#, "missing key 'sandbox_id'"),
        (#"{"sandbox_id":1,"backend_ref":"r","argv":[],"env":{}}"#, "wrong type at 'sandbox_id'"),
        (#"{"sandbox_id":null,"backend_ref":"r","argv":[],"env":{}}"#, "wrong type at 'sandbox_id'"),
        (#"{"sandbox_id":"s","backend_ref":"r","argv":"true","env":{}}"#, "wrong type at 'argv'"),
        (#"{"sandbox_id":"s","backend_ref":"r","argv":[],"env":{"A":1}}"#, "wrong type at 'env'"),
        (#"{"sandbox_id":"s","backend_ref":"r","argv":[],"env":{},"timeout_seconds":1.5}"#, "wrong type at 'timeout_seconds'"),
        (#"{"sandbox_id":"s","backend_ref":"r","argv":[],"env":{},"stdin":1}"#, "wrong type at 'stdin'"),
        (#"["not an object"]"#, "malformed JSON"),
        (#"{"sandbox_id":"s""#, "malformed JSON"),
    ])
    func refusesWhatJSONDecoderRefuses(text: String, reason: String) {
        #expect((try? JSONDecoder().decode(ExecStartRequest.self, from: Data(text.utf8))) == nil, "JSONDecoder reads \(text)")
        #expect(throws: JSONFieldError.self) { try ExecStartRequest(json: Data(text.utf8)) }
        do { _ = try ExecStartRequest(json: Data(text.utf8)) } catch { #expect(error.description == reason) }
    }

    @Test func integersMustFitTheirType() {
        #expect(throws: JSONFieldError.wrongType("exit_code")) {
            try ExecWaitResponse(json: Data(#"{"state":"exited","exit_code":4294967296}"#.utf8))
        }
        #expect(throws: JSONFieldError.missing("eof")) { try ExecReadResponse(json: Data(#"{"data_b64":"","next_offset":0}"#.utf8)) }
        #expect(throws: JSONFieldError.missing("data_b64")) { try ExecReadResponse(json: Data(#"{"eof":true}"#.utf8)) }
    }

    @Test func describeAndConfigAreJSONEncodersBytes() throws {
        let info: [String: JSONValue] = ["packer_version": "1.11.2", "ratio": .number(0.25), "n": 42, "flags": [true, nil, "a/b"]]
        for described in [DescribeResponse(name: "localvm", version: "0.7.0", capabilities: [Capability.lifecycle, Capability.execStream]),
                          DescribeResponse(name: "p", version: "1", capabilities: [], bootArtifactKinds: ["rootfs-tar"], info: info)] {
            #expect(Self.text(described.jsonData) == (try Self.encoded(described)))
            #expect(try DescribeResponse(json: described.jsonData) == described)
        }
        let config: JSONValue = ["data_dir": "/var/lib/sandboxer/backends/localvm", "network_pool": "10.200.0.0/16",
                                 "limits": ["memory": 536_870_912, "cpus": .number(1.5), "tiny": .number(1e-300)],
                                 "list": [1, -2, "x", ["nested": nil]], "empty": [:], "none": [], "t": true]
        #expect(JSONObjectWriter.document(config).map(Self.text) == (try Self.encoded(config)))
        #expect(JSONObjectWriter.document(.number(.infinity)) == nil, "JSONEncoder refuses it too")
        #expect(throws: JSONFieldError.wrongType("capabilities")) {
            try DescribeResponse(json: Data(#"{"name":"n","version":"v","capabilities":"lifecycle"}"#.utf8))
        }
    }

    @Test func readerStringsWithEscapesAfterAPlainRun() {
        let text = #"{"k":"plain run then \"quoted\" and \\ and \u0041 end","p":"only plain"}"#
        #expect(JSONReader.parse(text.utf8) == JSONValue.object(["k": .string(#"plain run then "quoted" and \ and A end"#),
                                                                 "p": .string("only plain")]))
        #expect(JSONReader.parse("{\"k\":\"run then raw tab\t\"}".utf8) == Optional<JSONValue>.none)
    }
}
