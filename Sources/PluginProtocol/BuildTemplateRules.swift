import FoundationEssentials
import Glibc

/// Rules of the build contract that both sides apply to a template's text: pure functions, no I/O,
/// so the host (before it computes a cache key) and a builder (before it runs one) agree.
public enum BuildTemplateRules {
    /// Template functions whose value changes from run to run. A template calling one builds
    /// different bytes from the same inputs, so a cache key over its text would lie.
    public static let nondeterministicFunctions = ["timestamp", "uuidv4", "isotime", "uuid"]

    /// The non-deterministic calls in one template file's text, in order of first appearance, as
    /// written (`timestamp()`, `{{timestamp}}`): empty when the template is deterministic.
    ///
    /// HCL2 calls look like `timestamp()` / `uuidv4()`; JSON templates' Go templates like
    /// `{{timestamp}}`, `{{ isotime "2006" }}`, `{{uuid}}`. An identifier counts only when a call
    /// follows (`(`) or when it is the first word inside `{{ }}`, so a variable named
    /// `build_timestamp` or the word in a comment or description does not.
    public static func nondeterministicCalls(in text: String) -> [String] {
        let bytes = Array(text.utf8)
        var found: [String] = []
        func note(_ call: String) { if !found.contains(call) { found.append(call) } }
        var i = 0
        while i < bytes.count {
            // A Go template action: `{{`, optional `-` and spaces, then the first word.
            if bytes[i] == UInt8(ascii: "{"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "{") {
                var j = i + 2
                while j < bytes.count, bytes[j] == UInt8(ascii: " ") || bytes[j] == UInt8(ascii: "-") { j += 1 }
                let (word, end) = identifier(bytes, from: j)
                if nondeterministicFunctions.contains(word) { note("{{\(word)}}") }
                i = max(end, i + 2)
                continue
            }
            if isIdentifierByte(bytes[i]) {
                // Only at the start of an identifier: `build_timestamp(` is another function.
                let (word, end) = identifier(bytes, from: i)
                var k = end
                while k < bytes.count, bytes[k] == UInt8(ascii: " ") { k += 1 }
                if (word == "timestamp" || word == "uuidv4"), k < bytes.count, bytes[k] == UInt8(ascii: "(") {
                    note("\(word)()")
                }
                i = max(end, i + 1)
                continue
            }
            i += 1
        }
        return found
    }

    /// One full-sentence refusal for a template file that calls non-deterministic functions; nil if none.
    public static func refusal(file: String, text: String) -> String? {
        let calls = nondeterministicCalls(in: text)
        guard !calls.isEmpty else { return nil }
        return "The template \(file) calls \(calls.joined(separator: ", ")), whose value changes on every run, so the "
            + "image cache key could not describe what it builds; pass the value as a variable instead."
    }

    static func isIdentifierByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_")
    }

    static func identifier(_ bytes: [UInt8], from start: Int) -> (String, Int) {
        var end = start
        while end < bytes.count, isIdentifierByte(bytes[end]) { end += 1 }
        return (String(decoding: bytes[start..<end], as: UTF8.self), end)
    }
}
