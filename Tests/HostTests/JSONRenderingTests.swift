import FoundationEssentials
import Testing
import Core
import PluginProtocol

/// `JSONValue.rendered`, pretty and compact, is the document `JSONEncoder` gives (sorted keys, slashes
/// unescaped; pretty: two spaces a level and `"key" : value`), written without `Codable`; control
/// characters are escaped as `\u00XX` (the same value, other bytes).
@Suite struct JSONRenderingTests {
    static let values: [JSONValue] = [
        .null, true, 0, -3, .number(0.5), .number(1e-7), .number(1e20), "a/b\"c\\d\n\r\t\u{8}\u{C}\u{1}\u{1F}\u{7F}é\u{2028}😀",
        .object([:]), .array([]),
        .object(["b": [1, "x", ["z": false, "y": .object([:]), "x": .array([])]], "a": .null, "c": ["k": [[:], ["k": 1]]],
                 "key/with \"quote\"": "v", "": ""]),
        .array([.array([.array([])]), .object(["n": .number(-0.25)])]),
    ]

    static func encoded(_ value: JSONValue, pretty: Bool) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
    }

    @Test(arguments: [true, false])
    func rendersJSONEncodersDocument(pretty: Bool) throws {
        for value in Self.values {
            let text = value.rendered(pretty: pretty)
            // The same value always; the same bytes unless a string holds a control character or DEL,
            // which `JSONText.quote` writes as `\u00XX` (JSONEncoder: `\b`, `\f`, lowercase hex, DEL raw).
            #expect(try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) == value, "\(value)")
            if !text.contains("\\u") {
                #expect(text == (try Self.encoded(value, pretty: pretty)), "\(value)")
            }
        }
    }
}
