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

/// SplitMix64: a tiny deterministic generator, so every fuzz run sees the same documents.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Feeds the parser thousands of generated and mutated documents: it must never crash, and must
/// either parse or throw a YAMLError whose line and column lie inside the input.
@Suite struct YAMLFuzzTests {
    static let seeds = [
        "data_dir: /var/lib/sandboxer\nbackends:\n  localvm:\n    plugin: lib.so\n    config:\n      a: [1, 2]\n",
        "profiles:\n  default:\n    backend: localvm\n    ttl: {default: 1h, max: 24h}\n    env: {LANG: C.UTF-8}\n",
        "- a: 1\n  b: \"two\\n\"\n- - x\n  - 'y'''\n-\n  k: {}\n",
        "# c\n---\nkey: value # comment\nlist:\n- one\n- \"\\u00e9\"\nempty:\n",
        "a:\n  b:\n    c:\n      d: [p, q, r]\n  e: ~\n",
    ]

    /// Characters that matter to YAML, plus a few that stress columns (multi-byte, CR, BOM, tab).
    static let alphabet: [String] = [
        ":", "-", " ", " ", "  ", "\t", "#", "\"", "'", "{", "}", "[", "]", ",", "\n", "\n  ", "\\", "\\u", "\\uD83D",
        "&", "*", "!", "|", ">", "%", "@", "`", "?", "~", "a", "k", "1", "0", "é", "😀", "\r", "\r\n", "\u{FEFF}",
        "---", "...", "- ", ": ", "key: ", "  - ", "{}", "[]", "\"x\"", "'y'", "\0",
    ]

    @Test func mutatedDocumentsNeverCrash() {
        var rng = SeededGenerator(seed: 0x5A4D_B0C5)
        var parsed = 0, refused = 0
        for iteration in 0..<4_000 {
            var doc = Array(Self.seeds[iteration % Self.seeds.count].unicodeScalars)
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                mutate(&doc, using: &rng)
            }
            var view = String.UnicodeScalarView()
            view.append(contentsOf: doc)
            if check(String(view)) { parsed += 1 } else { refused += 1 }
        }
        // Both paths must actually be exercised, or the fuzzer is not testing much.
        #expect(parsed > 200)
        #expect(refused > 200)
    }

    @Test func randomTokenSoupNeverCrashes() {
        var rng = SeededGenerator(seed: 42)
        for _ in 0..<3_000 {
            let count = Int.random(in: 0...40, using: &rng)
            let text = (0..<count).map { _ in Self.alphabet.randomElement(using: &rng)! }.joined()
            _ = check(text)
        }
    }

    @Test func generatedDocumentsRoundTrip() throws {
        var rng = SeededGenerator(seed: 7)
        for _ in 0..<1_500 {
            let text = generate(depth: 0, indent: 0, using: &rng).joined(separator: "\n") + "\n"
            let first = try YAMLParser.parse(text, file: "gen.yaml")
            let emitted = emit(first)
            let again = try YAMLParser.parse(emitted, file: "emit.yaml")
            #expect(shape(first) == shape(again), "generated:\n\(text)\nemitted:\n\(emitted)")
        }
    }

    /// Parses `text`; returns whether it parsed, recording an issue if an error points outside the input.
    func check(_ text: String) -> Bool {
        let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        do {
            let node = try YAMLParser.parse(text, file: "fuzz.yaml")
            if !lines.isEmpty, text.unicodeScalars.contains(where: { $0 != " " && $0 != "\n" }) {
                #expect(node.line >= 1 && node.line <= lines.count, "node at line \(node.line) in \(text.debugDescription)")
            }
            return true
        } catch {
            let lineOK = error.line >= 1 && error.line <= lines.count
            #expect(lineOK, "\(error) for \(text.debugDescription)")
            if lineOK {
                let width = lines[error.line - 1].count
                #expect(error.column >= 1 && error.column <= width + 1, "\(error) for \(text.debugDescription)")
            }
            #expect(error.message.hasSuffix("."), "\(error.message)")
            return false
        }
    }

    func mutate(_ doc: inout [Unicode.Scalar], using rng: inout SeededGenerator) {
        let position = doc.isEmpty ? 0 : Int.random(in: 0...doc.count, using: &rng)
        switch Int.random(in: 0..<5, using: &rng) {
        case 0, 1:
            doc.insert(contentsOf: Self.alphabet.randomElement(using: &rng)!.unicodeScalars, at: position)
        case 2:
            guard !doc.isEmpty else { return }
            let start = Int.random(in: 0..<doc.count, using: &rng)
            let end = min(doc.count, start + Int.random(in: 1...4, using: &rng))
            doc.removeSubrange(start..<end)
        case 3:
            guard !doc.isEmpty else { return }
            doc[Int.random(in: 0..<doc.count, using: &rng)] = Self.alphabet.randomElement(using: &rng)!.unicodeScalars.first!
        default:
            // Duplicate a random slice (repeats keys, lines and indentation patterns).
            guard doc.count > 2 else { return }
            let start = Int.random(in: 0..<(doc.count - 1), using: &rng)
            let end = min(doc.count, start + Int.random(in: 1...20, using: &rng))
            doc.insert(contentsOf: doc[start..<end], at: position)
        }
    }

    /// A random valid document in mixed styles, as lines.
    func generate(depth: Int, indent: Int, using rng: inout SeededGenerator) -> [String] {
        let pad = String(repeating: " ", count: indent)
        let isMap = Bool.random(using: &rng)
        var lines: [String] = []
        for i in 0..<Int.random(in: 1...4, using: &rng) {
            let head = isMap ? "\(pad)\(scalar(using: &rng, key: true, index: i)):" : "\(pad)-"
            switch depth < 4 ? Int.random(in: 0..<6, using: &rng) : 0 {
            case 0, 1: lines.append(head + " " + scalar(using: &rng, key: false, index: i))
            case 2: lines.append(head + (Bool.random(using: &rng) ? " # note" : ""))
            case 3: lines.append(head + " " + flow(using: &rng))
            default:
                lines.append(head)
                if Bool.random(using: &rng) { lines.append("\(pad)  # comment") }
                lines += generate(depth: depth + 1, indent: indent + Int.random(in: 1...3, using: &rng), using: &rng)
            }
        }
        return lines
    }

    func scalar(using rng: inout SeededGenerator, key: Bool, index: Int) -> String {
        let words = ["alpha", "b-2", "x y", "1h", "~", "true", "-3", "a:b", "é", "😀 z"]
        let word = words.randomElement(using: &rng)! + (key ? "\(index)" : "")
        switch Int.random(in: 0..<3, using: &rng) {
        case 0: return word
        case 1: return word.quotedForMessage
        default: return "'" + word + "'"
        }
    }

    func flow(using rng: inout SeededGenerator) -> String {
        let n = Int.random(in: 0...3, using: &rng)
        if Bool.random(using: &rng) {
            return "[" + (0..<n).map { _ in ["a", "\"b, c\"", "1", "'d'"].randomElement(using: &rng)! }.joined(separator: ", ") + "]"
        }
        return "{" + (0..<n).map { "k\($0): " + ["v", "\"w\"", "2", ""].randomElement(using: &rng)! }.joined(separator: ", ") + "}"
    }

    /// Block-style YAML for a node, every scalar and key double-quoted.
    func emit(_ node: YAMLNode) -> String {
        func lines(_ node: YAMLNode, _ indent: Int) -> [String] {
            let pad = String(repeating: " ", count: indent)
            func item(_ head: String, _ value: YAMLNode) -> [String] {
                switch value.value {
                case .null: return [head]
                case .scalar(let text, _): return [head + " " + text.quotedForMessage]
                case .sequence(let items) where items.isEmpty: return [head + " []"]
                case .mapping(let entries) where entries.isEmpty: return [head + " {}"]
                default: return [head] + lines(value, indent + 2)
                }
            }
            switch node.value {
            case .sequence(let items): return items.flatMap { item(pad + "-", $0) }
            case .mapping(let entries): return entries.flatMap { item(pad + $0.key.name.quotedForMessage + ":", $0.value) }
            case .scalar(let text, _): return [pad + text.quotedForMessage]
            case .null: return []
            }
        }
        return lines(node, 0).joined(separator: "\n")
    }

    /// The structure without locations or quoting style.
    func shape(_ node: YAMLNode) -> String {
        switch node.value {
        case .null: return "~"
        case .scalar(let text, _): return text.quotedForMessage
        case .sequence(let items): return "[" + items.map(shape).joined(separator: ",") + "]"
        case .mapping(let entries): return "{" + entries.map { $0.key.name.quotedForMessage + ":" + shape($0.value) }.joined(separator: ",") + "}"
        }
    }
}
