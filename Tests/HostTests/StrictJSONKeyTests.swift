import Foundation
import Testing
@testable import API
@testable import Core

/// The request-body check: duplicate keys are refused however they are spelled, and label values
/// with control characters never reach a backend.
@Suite struct StrictJSONKeyTests {
    func refused(_ text: String) -> String? {
        do { try StrictJSON.check(Array(text.utf8)); return nil } catch { return error.message }
    }

    @Test func escapedDuplicateKeysAreRefused() {
        #expect(refused(#"{"ttl":"1h","t\u0074l":"2h"}"#)?.contains("duplicate key \"ttl\"") == true)
        #expect(refused(#"{"\u0074\u0074\u006c":"1h","ttl":"2h"}"#) != nil)
        #expect(refused(#"{"a\/b":1,"a/b":2}"#) != nil)
        #expect(refused(#"{"\ud83d\ude00":1,"😀":2}"#) != nil)
        // Canonically equivalent spellings are one key to Swift's decoder, so they are one key here too.
        #expect(refused(#"{"\u00e9":1,"e\u0301":2}"#) != nil)
        #expect(refused(#"{"x":{"k":1},"y":{"k":1}}"#) == nil)   // the same key in two objects is fine
    }

    @Test func escapesAreStillValidated() {
        #expect(refused(#"{"\ud800":1}"#)?.contains("unpaired surrogate") == true)
        #expect(refused(#"{"\udc00x":1}"#) != nil)
        #expect(refused(#"{"\ud800\u0041":1}"#) != nil)
        #expect(refused(#"{"\u12g4":1}"#) != nil)
        #expect(refused(#"{"\x":1}"#) != nil)
        #expect(refused(#"{"a":"\u00"}"#) != nil)
        #expect(refused(#"{"tab\tand\nnewline \"q\" \\ \/ \b\f\r":"\ud83d\ude00"}"#) == nil)
    }

    @Test func labelValuesWithControlCharactersAreRefused() {
        for value in ["a\u{0}b", "x\ny", "\u{7}", "\u{7F}", "\u{85}"] {
            #expect(throws: SandboxerError.self) { try LabelRules.validate(["k": value]) }
        }
        #expect(throws: Never.self) { try LabelRules.validate(["k": "plain text, ünïcode ok"]) }
    }

    @Test func randomBytesNeverCrashTheCheck() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array(#"{}[]",:\u0123456789abcdefABCDEF tnrl-+.eE"#.utf8) + [0, 0x80, 0xC3, 0xFF]
        for _ in 0..<20_000 {
            let length = Int.random(in: 0..<24, using: &generator)
            let bytes = (0..<length).map { _ in alphabet.randomElement(using: &generator) ?? 0 }
            _ = try? StrictJSON.check(bytes)
        }
    }
}
