import Testing
@testable import Basics
@testable import YAMLSubset

/// Holds `YAMLParser` to the parser it replaced (`YAMLReferenceParser`, the String/scalar version
/// of c76bf49): over every YAML text in the repository and thousands of seeded random and mutated
/// documents, both must give the same tree (values, quoting, every line and column) or the same
/// error (code, message, line, column), byte for byte.
@Suite struct YAMLDifferentialTests {
    /// Characters that matter to YAML plus ones that make byte offsets and scalar columns differ
    /// (multi-byte, combining, a BOM mid-line, Unicode line breaks YAML 1.2 does not break on).
    static let alphabet: [String] = YAMLFuzzTests.alphabet + [
        "é", "e\u{301}", "\u{301}", "ü:", "😀", "中文", "\u{2028}", "\u{85}", "\u{A0}", "\u{FEFF}", "\r", "\t",
        "\\é", "\\😀", "\\u00E9", "\\uDBFF\\uDFFF", "\\uD83D\\u0041", "\\uDC00", "\\u12é", "\\uFFFF", "\\x",
        "''", "\"\"", " #", "# ", ": é", "- é", "é: ", "\"é\": ", "'é': ", "{a: é}", "[é, ü]", "{é}", "[é: x]",
        "-1", "x", " ", "\n", "\n\n", "\n- ", "\n  - ", "\n    ", ":x", "#é", "?", "? ", "- - ",
    ]

    /// Everything a parse produced, as text compared by its UTF-8 bytes (String's `==` would call
    /// "é" and "e\u{301}" equal): each node's kind, line, column and exact text, or the error.
    static func outcome(_ parse: () throws(YAMLError) -> YAMLNode) -> String {
        do {
            var out = ""
            dump(try parse(), into: &out)
            return out
        } catch {
            return "error \(error.code.rawValue) \(error.file):\(error.line):\(error.column) [\(error.message)]"
        }
    }

    static func dump(_ node: YAMLNode, into out: inout String) {
        out += "@\(node.line):\(node.column)"
        switch node.value {
        case .null: out += "~"
        case .scalar(let text, let quoted): out += (quoted ? "q<" : "p<") + text + ">\(text.utf8.count)"
        case .sequence(let items):
            out += "["
            for item in items { dump(item, into: &out); out += "," }
            out += "]"
        case .mapping(let entries):
            out += "{"
            for (key, value) in entries {
                out += "k\(key.line):\(key.column)<" + key.name + ">\(key.name.utf8.count)="
                dump(value, into: &out)
                out += ","
            }
            out += "}"
        }
    }

    /// Tallies what a run saw, so a test can tell it exercised both paths and many errors.
    struct Tally {
        var parsed = 0
        var refused = 0
        var codes = Set<String>()
        var messages = Set<String>()
        var mismatches: [String] = []

        var summary: String {
            "\(parsed) parsed, \(refused) refused (\(codes.count) codes, \(messages.count) distinct messages), \(mismatches.count) differ"
        }

        /// Runs both parsers over `text` and records a mismatch (the first 5 in full).
        mutating func check(_ text: String, origin: String) {
            let new = YAMLDifferentialTests.outcome { () throws(YAMLError) in try YAMLParser.parse(text, file: "d.yaml") }
            let old = YAMLDifferentialTests.outcome { () throws(YAMLError) in try YAMLReferenceParser.parse(text, file: "d.yaml") }
            if new.hasPrefix("error ") {
                refused += 1
                codes.insert(String(new.split(separator: " ")[1]))
                messages.insert(String(new.drop(while: { $0 != "[" })))
            } else {
                parsed += 1
            }
            guard !new.utf8.elementsEqual(old.utf8) else { return }
            mismatches.append(origin)
            if mismatches.count <= 5 {
                Issue.record("\(origin): \(text.debugDescription)\n  new: \(new)\n  old: \(old)")
            }
        }
    }

    @Test func repositoryCorpusAgrees() {
        let corpus = YAMLCorpus.documents
        var tally = Tally()
        for (origin, text) in corpus { tally.check(text, origin: origin) }
        #expect(tally.mismatches.isEmpty, "\(tally.mismatches.count) of \(corpus.count) differ")
        // The corpus must really hold the repository's YAML: the docs, the API document, configs.
        #expect(corpus.count > 150)
        #expect(corpus.contains { $0.origin.hasSuffix("openapi.yaml") })
        #expect(tally.parsed > 100 && tally.refused > 50, "\(tally.summary)")
        print("YAML differential, repository corpus: \(corpus.count) documents, \(tally.summary)")
    }

    @Test func mutatedCorpusAgrees() {
        let corpus = YAMLCorpus.documents.map { Array($0.text.unicodeScalars) }
        var rng = SeededGenerator(seed: 0x00D1_FFE5)
        var tally = Tally()
        for _ in 0..<6_000 {
            var doc = Self.window(corpus[Int.random(in: 0..<corpus.count, using: &rng)], using: &rng)
            for _ in 0..<Int.random(in: 0...6, using: &rng) { Self.mutate(&doc, using: &rng) }
            var view = String.UnicodeScalarView()
            view.append(contentsOf: doc)
            tally.check(String(view), origin: "mutated")
        }
        #expect(tally.mismatches.isEmpty, "\(tally.mismatches.count) of 6000 differ")
        #expect(tally.parsed > 500 && tally.refused > 500, "\(tally.summary)")
        print("YAML differential, mutated corpus: \(tally.summary)")
        #expect(tally.codes.count == 5, "codes seen: \(tally.codes.sorted())")
        #expect(tally.messages.count > 100)
    }

    @Test func tokenSoupAgrees() {
        var rng = SeededGenerator(seed: 0x50_0F)
        var tally = Tally()
        for _ in 0..<5_000 {
            let count = Int.random(in: 0...30, using: &rng)
            var text = ""
            for _ in 0..<count { text += Self.alphabet[Int.random(in: 0..<Self.alphabet.count, using: &rng)] }
            tally.check(text, origin: "soup")
        }
        #expect(tally.mismatches.isEmpty, "\(tally.mismatches.count) of 5000 differ")
        #expect(tally.codes.count == 5, "codes seen: \(tally.codes.sorted())")
        print("YAML differential, token soup: \(tally.summary)")
    }

    @Test func generatedLinesAgree() {
        var rng = SeededGenerator(seed: 0x11_4E5)
        var tally = Tally()
        for round in 0..<5_000 {
            var lines: [String] = []
            if round % 2 == 0 {
                // A valid document in mixed styles (YAMLFuzzTests' generator), one line in four
                // of them with a random line in place of one of its own.
                lines = YAMLFuzzTests().generate(depth: 0, indent: 0, using: &rng)
                if Int.random(in: 0..<4, using: &rng) == 0 {
                    lines[Int.random(in: 0..<lines.count, using: &rng)] = Self.line(using: &rng)
                }
            } else {
                for _ in 0..<Int.random(in: 1...8, using: &rng) { lines.append(Self.line(using: &rng)) }
            }
            tally.check(lines.joined(separator: Bool.random(using: &rng) ? "\n" : "\r\n"), origin: "lines")
        }
        #expect(tally.mismatches.isEmpty, "\(tally.mismatches.count) of 5000 differ")
        #expect(tally.parsed > 500 && tally.refused > 500, "\(tally.summary)")
        print("YAML differential, generated lines: \(tally.summary)")
    }

    /// Keys that are canonically equivalent (or look alike but are not), two to a mapping, in every
    /// quoting and both mapping styles, after 0 or 9 other keys (a long mapping finds duplicates
    /// through a dictionary): a duplicate exactly when the old parser's String comparison said so.
    @Test func equivalentKeysAgree() {
        let spellings = ["é", "e\u{301}", "\\u00e9", "e\\u0301", "Å", "A\u{30A}", "\u{212B}", "ﬁ", "fi", "k3"]
        func styles(_ key: String) -> [String] {
            var out = ["\"" + key + "\"", "'" + key + "'"]
            if !key.hasPrefix("\\") { out.append(key) }
            return out
        }
        var tally = Tally()
        var duplicates = 0
        for a in spellings {
            for b in spellings {
                for ka in styles(a) {
                    for kb in styles(b) {
                        for filler in [0, 9] {
                            let entries = ((0..<filler).map { "k\($0)" } + [ka, kb]).map { $0 + ": v" }
                            let flow = "{" + entries.joined(separator: ", ") + "}"
                            for text in [entries.joined(separator: "\n"), flow, "- " + flow,
                                         "x:\n" + entries.map { "  " + $0 }.joined(separator: "\n")] {
                                tally.check(text, origin: "keys")
                                if Self.outcome({ () throws(YAMLError) in try YAMLReferenceParser.parse(text, file: "d.yaml") })
                                    .hasPrefix("error duplicateKey") { duplicates += 1 }
                            }
                        }
                    }
                }
            }
        }
        #expect(tally.mismatches.isEmpty, "\(tally.summary)")
        #expect(duplicates > 500, "\(duplicates) duplicates, \(tally.summary)")
        print("YAML differential, equivalent keys: \(duplicates) duplicate-key errors, \(tally.summary)")
    }

    /// Up to 30 consecutive lines of a document, so the big ones (the API document) stay cheap.
    static func window(_ doc: [Unicode.Scalar], using rng: inout SeededGenerator) -> [Unicode.Scalar] {
        let lines = doc.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count > 30 else { return doc }
        let start = Int.random(in: 0..<(lines.count - 30), using: &rng)
        return Array(lines[start..<(start + Int.random(in: 1...30, using: &rng))].joined(separator: ["\n"]))
    }

    static func mutate(_ doc: inout [Unicode.Scalar], using rng: inout SeededGenerator) {
        let position = Int.random(in: 0...doc.count, using: &rng)
        let token = Array(alphabet[Int.random(in: 0..<alphabet.count, using: &rng)].unicodeScalars)
        switch Int.random(in: 0..<5, using: &rng) {
        case 0, 1: doc.insert(contentsOf: token, at: position)
        case 2:
            guard !doc.isEmpty else { return }
            let start = Int.random(in: 0..<doc.count, using: &rng)
            doc.removeSubrange(start..<min(doc.count, start + Int.random(in: 1...4, using: &rng)))
        case 3:
            guard !doc.isEmpty, let first = token.first else { return }
            doc[Int.random(in: 0..<doc.count, using: &rng)] = first
        default:
            guard doc.count > 2 else { return }
            let start = Int.random(in: 0..<(doc.count - 1), using: &rng)
            doc.insert(contentsOf: doc[start..<min(doc.count, start + Int.random(in: 1...20, using: &rng))], at: position)
        }
    }

    /// One line: indentation (sometimes a tab), a head (key, item, quoted key, none), a value
    /// (plain, quoted with escapes, flow, comment, none) and a tail (spaces, comment, CR).
    static func line(using rng: inout SeededGenerator) -> String {
        func pick(_ options: [String]) -> String { options[Int.random(in: 0..<options.count, using: &rng)] }
        let indent = String(repeating: " ", count: Int.random(in: 0...6, using: &rng)) + pick(["", "", "", "", "\t", " \t"])
        let head = pick(["", "k: ", "key:", "é: ", "e\u{301}: ", "\"é\": ", "'k''s': ", "- ", "- - ", "-", "- k: ",
                         "x y : ", "a:b: ", "? ", "--- ", "...", "%Y ", "k:\t", "😀😀: ", "\"a\" : ", "'': "])
        let value = pick(["", "v", "é", "1h", "\"q\\té\"", "'s''é'", "\"\\u00e9\\uD83D\\uDE00\"", "\"\\uD800\"",
                          "\"\\é\"", "{a: 1, é: 2}", "[x, é, 'y']", "{a: [1]}", "[a, b,]", "{}", "[ ]", "&a", "*b",
                          "!t", "| ", "@x", "v: w", "http://h:1/", "\"open", "[1, 2", "{k}", "x # c", "é#é", "~",
                          "\"x\" y", "[1}", "{: 1}", ": v", "- x", "\"é\"é"])
        let tail = pick(["", "", " ", " # note", "\t", "#x", " #é", "\r"])
        return indent + head + value + tail
    }
}
