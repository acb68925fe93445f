import FoundationEssentials
import Testing
@testable import PluginProtocol

/// `SandboxRef` and `CreateResponse` written and read without `Codable` (`Messages+LifecycleJSON`):
/// `JSONEncoder`'s bytes with sorted keys, and what `JSONDecoder` reads and refuses.
@Suite struct LifecycleJSONTests {
    static let awkward = ExecStreamJSONTests.awkward

    static let refs = [SandboxRef(sandboxId: "sbx-0123456789abcdef", backendRef: "sbx-0123456789abcdef"),
                       SandboxRef(sandboxId: awkward, backendRef: "ref/with \"quotes\""),
                       SandboxRef(sandboxId: "", backendRef: "")]

    static let creates = [
        CreateResponse(backendRef: "sbx-1"),
        CreateResponse(backendRef: "r", info: ["init_pid": 4242, "created_at_ms": 1_796_071_289_729, "root": .string(awkward),
                                               "addresses": ["10.200.0.2"], "network": "bridge", "ok": true, "none": .null,
                                               "nested": ["b": .number(1.5), "a": [1, "x", ["z": false]]], "neg": -3, "frac": .number(0.25)]),
    ]

    @Test func writesJSONEncodersBytes() throws {
        for ref in Self.refs { #expect(ExecStreamJSONTests.text(ref.jsonData) == (try ExecStreamJSONTests.encoded(ref))) }
        for create in Self.creates {
            #expect(ExecStreamJSONTests.text(create.jsonData) == (try ExecStreamJSONTests.encoded(create)))
        }
    }

    @Test func readsWhatJSONDecoderReads() throws {
        for ref in Self.refs {
            #expect(try SandboxRef(json: ref.jsonData) == ref)
            #expect(try SandboxRef(json: ref.jsonData) == JSONDecoder().decode(SandboxRef.self, from: ref.jsonData))
        }
        for create in Self.creates {
            #expect(try CreateResponse(json: create.jsonData) == create)
            #expect(try CreateResponse(json: create.jsonData) == JSONDecoder().decode(CreateResponse.self, from: create.jsonData))
        }
        let extra = Data(#"{"unknown":[1,{"x":null}],"backend_ref":"r","info":{}}"#.utf8)
        #expect(try CreateResponse(json: extra) == JSONDecoder().decode(CreateResponse.self, from: extra))
    }

    @Test(arguments: [
        (#"{"backend_ref":"r"}"#, JSONFieldError.missing("info")),
        (#"{"info":{}}"#, JSONFieldError.missing("backend_ref")),
        (#"{"backend_ref":"r","info":[]}"#, JSONFieldError.wrongType("info")),
        (#"{"backend_ref":7,"info":{}}"#, JSONFieldError.wrongType("backend_ref")),
    ])
    func createResponsesJSONDecoderRefusesAreRefused(text: String, error: JSONFieldError) {
        let data = Data(text.utf8)
        #expect((try? JSONDecoder().decode(CreateResponse.self, from: data)) == nil, "JSONDecoder accepts \(text)")
        #expect(throws: error) { try CreateResponse(json: data) }
    }

    @Test func refsJSONDecoderRefusesAreRefused() {
        for text in [#"{"sandbox_id":"s"}"#, #"{"backend_ref":"r"}"#, #"{"sandbox_id":1,"backend_ref":"r"}"#, "[]", "", "{"] {
            let data = Data(text.utf8)
            #expect((try? JSONDecoder().decode(SandboxRef.self, from: data)) == nil, "JSONDecoder accepts \(text)")
            #expect(throws: JSONFieldError.self) { try SandboxRef(json: data) }
        }
    }
}
