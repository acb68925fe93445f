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

/// The document rendered without locations (see `YAMLNode.description`), or the error's description.
private func render(_ text: String) -> String {
    do {
        return try YAMLParser.parse(text, file: "config.yaml").description
    } catch {
        return error.description
    }
}

@Suite struct YAMLParserGoodDocumentTests {
    /// Input and its rendering; YAMLDifferentialTests feeds the inputs to the reference parser too.
    static let cases: [(String, String)] = [
        ("", "~"),
        ("# only a comment\n\n   # another\n", "~"),
        ("---\n", "~"),
        ("--- # start\na: 1\n", "{a: 1}"),
        ("a: 1\nb: two\n", "{a: 1, b: two}"),
        ("a:\n", "{a: ~}"),
        ("a:\nb: 2", "{a: ~, b: 2}"),
        ("a:   # comment\nb: 2", "{a: ~, b: 2}"),
        ("a:\n  b:\n    c: deep\n  d: x\ne: y\n", "{a: {b: {c: deep}, d: x}, e: y}"),
        ("- a\n- b\n", "[a, b]"),
        ("-\n- b\n", "[~, b]"),
        ("- a: 1\n  b: 2\n- c: 3\n", "[{a: 1, b: 2}, {c: 3}]"),
        ("list:\n  - name: x\n    size: 1\n  - name: y\n", "{list: [{name: x, size: 1}, {name: y}]}"),
        ("list:\n- a\n- b\nnext: 1\n", "{list: [a, b], next: 1}"),
        ("- - a\n  - b\n- c\n", "[[a, b], c]"),
        ("-\n  a: 1\n", "[{a: 1}]"),
        ("- key:\n    - x\n", "[{key: [x]}]"),
        ("- key:\n  - x\n", "[{key: [x]}]"),
        ("a:\n  plain\n", "{a: plain}"),
        ("scalar", "scalar"),
        ("  indented: root\n  second: 2\n", "{indented: root, second: 2}"),
        ("\"quoted key\": v\n'single': w\n", "{quoted key: v, single: w}"),
        ("a: \"x: y # not a comment\"\n", "{a: \"x: y # not a comment\"}"),
        ("a: 'it''s'\n", "{a: \"it's\"}"),
        ("a: \"tab\\tnl\\nq\\\"bs\\\\sl\\/\"\n", "{a: \"tab\\tnl\\nq\\\"bs\\\\sl/\"}"),
        ("a: \"\\u00e9\\u20AC\"\n", "{a: \"é€\"}"),
        ("a: \"\\uD83D\\uDE00\"\n", "{a: \"😀\"}"),
        ("a: \"\"\n", "{a: \"\"}"),
        ("\"\": empty key\n", "{: empty key}"),
        ("a: value # trailing comment\n", "{a: value}"),
        ("a: value#not comment\n", "{a: value#not comment}"),
        ("a: http://example.com:8080/x\n", "{a: http://example.com:8080/x}"),
        ("a: -1\nb: -x\n", "{a: -1, b: -x}"),
        ("a: b:c\n", "{a: b:c}"),
        ("key with spaces  : v\n", "{key with spaces: v}"),
        ("a: {}\nb: []\n", "{a: {}, b: []}"),
        ("a: { }\nb: [ ]\n", "{a: {}, b: []}"),
        ("ttl: {default: 1h, max: 24h}\n", "{ttl: {default: 1h, max: 24h}}"),
        ("a: {x: 1, y: 2}  # c\n", "{a: {x: 1, y: 2}}"),
        ("a: [a, b, \"c d\", 'e']\n", "{a: [a, b, \"c d\", \"e\"]}"),
        ("a: [a, b,]\n", "{a: [a, b]}"),
        ("a: {x: , y: 2}\n", "{a: {x: ~, y: 2}}"),
        ("a: {\"k\":1, 'j': \"v\"}\n", "{a: {k: 1, j: \"v\"}}"),
        ("a: {url: http://x:80/}\n", "{a: {url: http://x:80/}}"),
        ("{a: 1}\n", "{a: 1}"),
        ("[1, 2]\n", "[1, 2]"),
        ("a: 1\r\nb: 2\r\n", "{a: 1, b: 2}"),
        ("\u{FEFF}a: 1\n", "{a: 1}"),
        ("a:\t1\n", "{a: 1}"),
        ("a: 1 \t\n", "{a: 1}"),
        ("\t\n# tab-only line above\na: 1\n", "{a: 1}"),
        ("a: ~\nb: null\n", "{a: ~, b: null}"),
        ("a: x ? y\nb: x - y\n", "{a: x ? y, b: x - y}"),
    ]

    @Test(arguments: cases)
    func parses(_ input: String, _ expected: String) {
        #expect(render(input) == expected, "input: \(input.debugDescription)")
    }

    @Test func keepsLocations() throws {
        let text = """
            # config
            backends:
              localvm:
                plugin: x.so
            list:
              - a: 1
                b: [p, q]
            """
        let root = try YAMLParser.parse(text, file: "c.yaml")
        #expect((root.line, root.column) == (2, 1))
        let entries = try #require(root.mappingEntries)
        #expect(entries.map(\.key) == [YAMLKey("backends", line: 2, column: 1), YAMLKey("list", line: 5, column: 1)])
        let plugin = try #require(root["backends"]?["localvm"]?["plugin"])
        #expect((plugin.line, plugin.column) == (4, 13))
        let item = try #require(root["list"]?.sequenceItems?.first)
        #expect((item.line, item.column) == (6, 5))
        #expect(item.mappingEntries?.map(\.key) == [YAMLKey("a", line: 6, column: 5), YAMLKey("b", line: 7, column: 5)])
        let flow = try #require(item["b"])
        #expect((flow.line, flow.column) == (7, 8))
        #expect(flow.sequenceItems?.map(\.column) == [9, 12])
    }

    @Test func quotedScalarsAreMarked() throws {
        let root = try YAMLParser.parse("a: 1\nb: \"1\"\nc: '1'\n")
        #expect(root["a"]?.value == .scalar("1", quoted: false))
        #expect(root["b"]?.value == .scalar("1", quoted: true))
        #expect(root["c"]?.value == .scalar("1", quoted: true))
    }

    @Test func keepsKeyOrder() throws {
        let root = try YAMLParser.parse("z: 1\na: 2\nm: 3\n")
        #expect(root.mappingEntries?.map(\.key.name) == ["z", "a", "m"])
    }
}

@Suite struct YAMLParserBadDocumentTests {
    /// Input and its error; YAMLDifferentialTests feeds the inputs to the reference parser too.
    static let cases: [(String, String)] = [
        ("a:\n  b: 1\n\tc: 2\n", "config.yaml:3:1: Tabs are not allowed for indentation."),
        ("a:\n  b:\n  \tc: 2\n", "config.yaml:3:3: Tabs are not allowed for indentation."),
        ("-\tx\n", "config.yaml:1:2: Tabs are not allowed for indentation."),
        ("a: &anchor 1\n", "config.yaml:1:4: Anchors (&) are not supported."),
        ("a: *alias\n", "config.yaml:1:4: Aliases (*) are not supported."),
        ("a: !!str 1\n", "config.yaml:1:4: Tags (!) are not supported."),
        ("&a key: 1\n", "config.yaml:1:1: Anchors (&) are not supported."),
        ("a: |\n  text\n", "config.yaml:1:4: Block scalars (| and >) are not supported; write the value on one line, in double quotes with \\n for line breaks."),
        ("a: >-\n  text\n", "config.yaml:1:4: Block scalars (| and >) are not supported; write the value on one line, in double quotes with \\n for line breaks."),
        ("? complex\n: value\n", "config.yaml:1:1: Complex keys (?) are not supported."),
        ("a: 1\nb: 2\na: 3\n", "config.yaml:3:1: Duplicate key \"a\" (first defined on line 1)."),
        ("x:\n  \"a\": 1\n  a: 2\n", "config.yaml:3:3: Duplicate key \"a\" (first defined on line 2)."),
        ("a: {b: 1, b: 2}\n", "config.yaml:1:11: Duplicate key \"b\" (first defined at column 5)."),
        ("a:\n    b: 1\n  c: 2\n", "config.yaml:3:3: Inconsistent indentation: this line is indented 2 spaces, but the block it belongs to is indented 0."),
        ("a:\n  b: 1\n   c: 2\n", "config.yaml:3:4: Unexpected indentation: \"b\" already has its value on line 2, and multi-line values are not supported."),
        ("a:\n  b:\n    c: 1\n   d: 2\n", "config.yaml:4:4: Inconsistent indentation: this line is indented 3 spaces, but the block it belongs to is indented 2."),
        ("  a: 1\nb: 2\n", "config.yaml:2:1: Inconsistent indentation: this line is indented 0 spaces, but the block it belongs to is indented 2."),
        ("- a\n - b\n", "config.yaml:2:2: Unexpected indentation: the value on line 1 is complete, and multi-line values are not supported."),
        ("a:\n  - x\n - y\n", "config.yaml:3:2: Inconsistent indentation: this line is indented 1 space, but the block it belongs to is indented 0."),
        ("a: 1\n  b: 2\n", "config.yaml:2:3: Unexpected indentation: \"a\" already has its value on line 1, and multi-line values are not supported."),
        ("a:\n  one\n  two\n", "config.yaml:3:3: Unexpected indentation: the value on line 2 is complete, and multi-line values are not supported."),
        ("- one\n  two\n", "config.yaml:2:3: Unexpected indentation: the value on line 1 is complete, and multi-line values are not supported."),
        ("one\ntwo\n", "config.yaml:2:1: Unexpected indentation: the value on line 1 is complete, and multi-line values are not supported."),
        ("a: 1\n---\nb: 2\n", "config.yaml:2:1: Multiple documents are not supported; a file holds one document."),
        ("---\n---\n", "config.yaml:2:1: Multiple documents are not supported; a file holds one document."),
        ("--- a: 1\n", "config.yaml:1:5: Content on the same line as \"---\" is not supported; start it on the next line."),
        ("a: 1\n...\n", "config.yaml:2:1: Document end markers (...) are not supported."),
        ("%YAML 1.2\n---\na: 1\n", "config.yaml:1:1: Directives (%) are not supported."),
        ("a: 1\n- b\n", "config.yaml:2:1: A sequence item cannot appear among the keys of a mapping; indent it under a key that ends with \":\"."),
        ("- a\nb: 1\n", "config.yaml:2:1: Expected a sequence item (\"- value\") here, like the lines above at this indentation."),
        ("a: 1\nb\n", "config.yaml:2:1: Expected \"key: value\" here, like the other lines of this mapping."),
        ("a: 1\nb:2\n", "config.yaml:2:2: Expected \"key: value\"; put a space after the \":\"."),
        ("a: b: c\n", "config.yaml:1:5: A plain value cannot contain \": \" or end with \":\"; quote the value."),
        ("a: b:\n", "config.yaml:1:5: A plain value cannot contain \": \" or end with \":\"; quote the value."),
        ("a: - b\n", "config.yaml:1:4: A sequence cannot start on the same line as its key; put each \"- item\" on its own line below."),
        ("a: @x\n", "config.yaml:1:4: A plain value cannot start with \"@\"; quote the value."),
        ("a: `x`\n", "config.yaml:1:4: A plain value cannot start with \"`\"; quote the value."),
        ("a: \"open\n", "config.yaml:1:4: This quoted value is not closed on the same line; multi-line values are not supported."),
        ("a: 'open\n  more'\n", "config.yaml:1:4: This quoted value is not closed on the same line; multi-line values are not supported."),
        ("a: \"x\" y\n", "config.yaml:1:8: Unexpected text after the quoted value; only a comment may follow it."),
        ("a: \"x\"# c\n", "config.yaml:1:7: Unexpected text after the quoted value; only a comment may follow it."),
        ("a: \"\\q\"\n", "config.yaml:1:5: Unknown escape \"\\\\q\" in a double-quoted value; the supported escapes are \\\" \\\\ \\/ \\n \\t \\r and \\uXXXX."),
        ("a: \"\\u12\"\n", "config.yaml:1:5: Expected four hexadecimal digits after \\u."),
        ("a: \"\\uD800\"\n", "config.yaml:1:5: A \\u escape names half of a surrogate pair without the other half."),
        ("a: \"\\uDC00\"\n", "config.yaml:1:5: A \\u escape names half of a surrogate pair without the other half."),
        ("a: {b: 1\n", "config.yaml:1:4: This flow mapping is not closed on the same line; multi-line flow collections are not supported."),
        ("a: [1, 2\n  , 3]\n", "config.yaml:1:4: This flow sequence is not closed on the same line; multi-line flow collections are not supported."),
        ("a: [1, 2 # c ]\n", "config.yaml:1:4: This flow sequence is not closed on the same line; multi-line flow collections are not supported."),
        ("a: {b # c\n", "config.yaml:1:4: This flow mapping is not closed on the same line; multi-line flow collections are not supported."),
        ("a: {b: {c: 1}}\n", "config.yaml:1:8: Nested flow collections are not supported; write nested values in block style."),
        ("a: [[1]]\n", "config.yaml:1:5: Nested flow collections are not supported; write nested values in block style."),
        ("a: [1, {b: 2}]\n", "config.yaml:1:8: Nested flow collections are not supported; write nested values in block style."),
        ("a: [1,, 2]\n", "config.yaml:1:7: Empty entry in a flow sequence; remove the extra \",\"."),
        ("a: {b}\n", "config.yaml:1:6: Expected \":\" after the key \"b\" in a flow mapping."),
        ("a: [1 2] x\n", "config.yaml:1:10: Unexpected text after the flow collection; only a comment may follow it."),
        ("a: [1}\n", "config.yaml:1:6: Expected \",\" or \"]\" in a flow sequence."),
        ("a: [a: b]\n", "config.yaml:1:6: A plain value cannot contain \": \" or end with \":\"; quote the value."),
        ("a: [&x 1]\n", "config.yaml:1:5: Anchors (&) are not supported."),
        ("a: {: 1}\n", "config.yaml:1:5: A mapping key cannot be empty; write \"\" if you mean an empty key."),
        (": v\n", "config.yaml:1:1: A mapping key cannot be empty; write \"\" if you mean an empty key."),
        ("a: [- b]\n", "config.yaml:1:5: A block sequence item (\"- \") cannot appear inside a flow collection."),
    ]

    @Test(arguments: cases)
    func refuses(_ input: String, _ expected: String) {
        #expect(render(input) == expected, "input: \(input.debugDescription)")
    }

    @Test func refusesDeepNesting() throws {
        let deep = (0..<100).map { String(repeating: " ", count: $0) + "k:" }.joined(separator: "\n")
        let error = try #require(throws: YAMLError.self) { try YAMLParser.parse(deep, file: "d.yaml") }
        #expect(error.code == .unsupported)
        #expect(error.description == "d.yaml:65:65: Nesting deeper than 64 levels is not supported.")
        let dashes = String(repeating: "- ", count: 200) + "x"
        #expect(throws: YAMLError.self) { try YAMLParser.parse(dashes) }
    }

    @Test func errorCodes() {
        func code(_ text: String) -> YAMLError.Code? {
            do { _ = try YAMLParser.parse(text); return nil } catch { return error.code }
        }
        #expect(code("a:\n\tb: 1") == .tab)
        #expect(code("a: 1\na: 2") == .duplicateKey)
        #expect(code("a:\n  b: 1\n c: 2") == .indentation)
        #expect(code("a: *x") == .unsupported)
        #expect(code("a: \"x") == .syntax)
        #expect(code("a: 1") == nil)
    }
}
