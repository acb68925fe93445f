import Foundation
import Testing
@testable import Config

/// Every YAML text the repository holds, for YAMLDifferentialTests: the `.yaml`/`.yml` files, the
/// fenced yaml blocks of the Markdown docs, the string literals of the Swift sources that look like
/// YAML (multi-line `"""` literals, and one-line literals with a `\n` and a `:`), the embedded
/// default config and the YAML parser tests' inputs. Extraction of Swift literals is approximate
/// (common escapes only, no interpolation): that is fine, every text is just an input both parsers
/// must agree on.
enum YAMLCorpus {
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// (where it came from, text), without duplicates, in a stable order.
    static let documents: [(origin: String, text: String)] = {
        var out: [(origin: String, text: String)] = []
        var seen = Set<[UInt8]>()
        func add(_ origin: String, _ text: String) {
            if seen.insert(Array(text.utf8)).inserted { out.append((origin, text)) }
        }
        add("DefaultConfig.yaml", DefaultConfig.yaml)
        for (input, _) in YAMLParserGoodDocumentTests.cases { add("YAMLParserGoodDocumentTests", input) }
        for (input, _) in YAMLParserBadDocumentTests.cases { add("YAMLParserBadDocumentTests", input) }
        for seed in YAMLFuzzTests.seeds { add("YAMLFuzzTests.seeds", seed) }
        for path in files() {
            guard let data = FileManager.default.contents(atPath: repoRoot.appendingPathComponent(path).path) else { continue }
            let text = String(decoding: data, as: UTF8.self)
            if path.hasSuffix(".yaml") || path.hasSuffix(".yml") {
                add(path, text)
            } else if path.hasSuffix(".md") {
                for block in fencedYAML(text) { add(path, block) }
            } else if path.hasSuffix(".swift") {
                for literal in swiftLiterals(text) { add(path, literal) }
            }
        }
        return out
    }()

    /// Repository-relative paths of the files worth reading, sorted (build output and VCS left out).
    static func files() -> [String] {
        let skip: Set<String> = [".build", ".git", ".venv", "out", "node_modules"]
        var paths: [String] = []
        guard let walker = FileManager.default.enumerator(atPath: repoRoot.path) else { return [] }
        while let path = walker.nextObject() as? String {
            let name = (path as NSString).lastPathComponent
            if skip.contains(name) || name.hasPrefix(".build") { walker.skipDescendants(); continue }
            if [".yaml", ".yml", ".md", ".swift"].contains(where: { name.hasSuffix($0) }) { paths.append(path) }
        }
        return paths.sorted()
    }

    /// The bodies of ```yaml / ```yml fences.
    static func fencedYAML(_ markdown: String) -> [String] {
        var blocks: [String] = []
        var current: [Substring]?
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.drop(while: { $0 == " " })
            if current == nil, trimmed.hasPrefix("```yaml") || trimmed.hasPrefix("```yml") {
                current = []
            } else if let body = current, trimmed.hasPrefix("```") {
                blocks.append(body.joined(separator: "\n") + "\n")
                current = nil
            } else {
                current?.append(line)
            }
        }
        return blocks
    }

    /// Multi-line literals (indentation of the closing delimiter removed) and one-line literals
    /// that hold a line break and a colon, with the common escapes decoded.
    static func swiftLiterals(_ source: String) -> [String] {
        var literals: [String] = []
        var block: [Substring]?
        for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.drop(while: { $0 == " " })
            if var lines = block {
                if trimmed.hasPrefix("\"\"\"") {
                    let indent = line.count - trimmed.count
                    let body = lines.map { $0.count >= indent ? String($0.dropFirst(indent)) : String($0.drop(while: { $0 == " " })) }
                    literals.append(unescape(body.joined(separator: "\n")))
                    block = nil
                } else {
                    lines.append(line)
                    block = lines
                }
                continue
            }
            if line.hasSuffix("\"\"\"") && line.components(separatedBy: "\"\"\"").count == 2 {
                block = []
                continue
            }
            literals += oneLineLiterals(line).filter { $0.contains("\n") && $0.contains(":") }
        }
        return literals
    }

    /// The `"…"` literals of one source line, decoded.
    static func oneLineLiterals(_ line: Substring) -> [String] {
        var out: [String] = []
        let scalars = Array(line.unicodeScalars)
        var i = 0
        while i < scalars.count {
            guard scalars[i] == "\"" else { i += 1; continue }
            var j = i + 1
            var body = String.UnicodeScalarView()
            while j < scalars.count, scalars[j] != "\"" {
                if scalars[j] == "\\", j + 1 < scalars.count { body.append(scalars[j]); j += 1 }
                body.append(scalars[j]); j += 1
            }
            if j < scalars.count { out.append(unescape(String(body))) }
            i = j + 1
        }
        return out
    }

    /// `\n \t \r \" \\ \0 \u{…}`; anything else stays as written.
    static func unescape(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        let s = Array(text.unicodeScalars)
        var i = 0
        while i < s.count {
            guard s[i] == "\\", i + 1 < s.count else { out.append(s[i]); i += 1; continue }
            switch s[i + 1] {
            case "n": out.append("\n"); i += 2
            case "t": out.append("\t"); i += 2
            case "r": out.append("\r"); i += 2
            case "0": out.append("\0"); i += 2
            case "\"": out.append("\""); i += 2
            case "\\": out.append("\\"); i += 2
            case "u" where i + 2 < s.count && s[i + 2] == "{":
                var j = i + 3
                var hex = ""
                while j < s.count, s[j] != "}" { hex.unicodeScalars.append(s[j]); j += 1 }
                if let v = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(v) { out.append(scalar) }
                i = j + 1
            default: out.append(s[i]); i += 1
            }
        }
        return String(out)
    }
}
