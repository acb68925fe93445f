import FoundationEssentials
import Testing
@testable import Core
@testable import PluginProtocol

/// `JSONReader` builds the same `JSONValue` as `JSONDecoder` for every JSON text, and refuses what
/// `JSONDecoder` refuses (and trailing commas), so the store's columns read back as before.
/// `== nil` on a `JSONValue?` would compare with `.null` (JSONValue is ExpressibleByNilLiteral):
/// these tests use `Optional<JSONValue>.none`.
@Suite struct JSONReaderTests {
    static func decoded(_ text: String) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    @Test(arguments: [
        #"{}"#, #"[]"#, #"{"a":1}"#, #" { "a" : [ 1 , 2.5 , -3e2 , 0 , -0.0 , 1E+2 , 4e-1 ] } "#,
        #"{"s":"plain","e":"\"\\\/\b\f\n\r\t","u":"\u00e9\u4e2d\ud83d\ude00","raw":"é中😀"}"#,
        #"{"t":true,"f":false,"n":null,"nested":{"x":{"y":[{"z":[]}]}}}"#,
        #"{"big":9007199254740993,"small":1e-300,"int":12345678901234,"neg":-42}"#,
        #"{"dup":1,"dup":2}"#, #"{"init_pid":4242,"addresses":["10.200.0.2"],"root":"/var/lib/x"}"#,
        #""text""#, #"3"#, #"null"#, #"[1,"a",{"b":null}]"#,
    ])
    func sameValueAsJSONDecoder(text: String) throws {
        let expected = try #require(Self.decoded(text), "JSONDecoder should read \(text)")
        #expect(JSONReader.parse(text.utf8) == expected)
    }

    @Test(arguments: [
        "", " ", "{", "}", "nul", "tru", #"{"a"}"#, #"{"a":}"#, #"{a:1}"#, #"{"a":01}"#, #"{"a":.5}"#,
        #"{"a":1.}"#, #"{"a":1e}"#, #"{"a":tru}"#, #"{"a":"\x"}"#, #"{"a":"\u12"}"#, #"{"a":"\ud800"}"#,
        #"{"a":"\udc00"}"#, "{\"a\":\"tab\there\"}", #"{"a":1} x"#, #"{"a":1}{}"#, #"{"a":1e999}"#, #"'a'"#,
    ])
    func refusesWhatJSONDecoderRefuses(text: String) {
        #expect(Self.decoded(text) == Optional<JSONValue>.none, "JSONDecoder reads \(text)")
        #expect(JSONReader.parse(text.utf8) == Optional<JSONValue>.none)
    }

    @Test("stricter than JSONDecoder in one way: a trailing comma (the store's renderer never writes one)")
    func refusesTrailingCommas() {
        for text in [#"{"a":1,}"#, #"[1,]"#] {
            #expect(Self.decoded(text) != Optional<JSONValue>.none, "JSONDecoder changed: \(text)")
            #expect(JSONReader.parse(text.utf8) == Optional<JSONValue>.none, "\(text)")
        }
    }

    @Test func refusesBadUTF8AndDeepNesting() {
        #expect(JSONReader.parse([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D]) == Optional<JSONValue>.none)  // {"\xFF":1}
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(JSONReader.parse(deep.utf8) == Optional<JSONValue>.none)
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(JSONReader.parse(fine.utf8) != Optional<JSONValue>.none)
    }

    @Test func storedColumnsRoundTrip() throws {
        let info: JSONValue = ["init_pid": 4242, "addresses": ["10.200.0.2", "fd00::2"], "note": "a \"quoted\" é\n",
                               "ratio": .number(0.25), "flag": true, "none": nil]
        let text = try #require(BackendInfo.text(info))
        #expect(BackendInfo.parse(text) == info)
        #expect(BackendInfo.parse("[1]") == Optional<JSONValue>.none, "not an object")
        #expect(BackendInfo.parse("{") == Optional<JSONValue>.none)
        #expect(JSONValue.storedObject(info.storedText) == info.objectValue)
        #expect(JSONValue.storedObject("{}") == [:])
        #expect(JSONValue.storedObject("nope") == nil)
    }
}
