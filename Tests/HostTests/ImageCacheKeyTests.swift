import Foundation
import Testing
@testable import Basics
@testable import Core

/// The cache key (docs/images.md): equal inputs give equal keys, any change to an input changes it,
/// and templates that would differ on every build are refused.
@Suite struct ImageCacheKeyTests {
    func key(builder: String = "packer", version: String = "1.0.0", tool: String? = "1.6.6",
             files: [(String, String)] = [("main.pkr.hcl", "source {}"), ("scripts/a.sh", "echo a")],
             vars: [String: String] = ["marker": "v1"], arch: String = "x86_64") -> String {
        ImageCacheKey(builderName: builder, builderVersion: version, toolVersion: tool,
                      templateFiles: files.map { ($0.0, Array($0.1.utf8)) }, vars: vars, architecture: arch).hex
    }

    @Test func equalInputsGiveEqualKeysWhateverTheirOrder() {
        let base = key()
        #expect(base.count == 64)
        #expect(base == key())
        #expect(base == key(files: [("scripts/a.sh", "echo a"), ("main.pkr.hcl", "source {}")]))
        #expect(key(vars: ["a": "1", "b": "2"]) == key(vars: ["b": "2", "a": "1"]))
    }

    @Test func everyInputChangesTheKey() {
        let base = key()
        let changed = [
            key(builder: "packer2"), key(version: "1.0.1"), key(tool: "1.7.0"), key(tool: nil),
            key(files: [("main.pkr.hcl", "source { }"), ("scripts/a.sh", "echo a")]),
            key(files: [("main.pkr.hcl", "source {}"), ("scripts/b.sh", "echo a")]),
            key(files: [("main.pkr.hcl", "source {}")]),
            key(vars: ["marker": "v2"]), key(vars: ["marker2": "v1"]), key(vars: [:]), key(arch: "aarch64"),
        ]
        for other in changed { #expect(other != base) }
        #expect(Set(changed).count == changed.count)
    }

    @Test func fieldsCannotRunIntoEachOther() {
        // The same bytes split differently between a path and its contents, or between vars.
        #expect(key(files: [("ab", "c")]) != key(files: [("a", "bc")]))
        #expect(key(vars: ["a": "b=c"]) != key(vars: ["a=b": "c"]))
        #expect(key(builder: "ab", version: "c") != key(builder: "a", version: "bc"))
    }

    @Test func secretsContributeTheirDigestNeverTheirValue() {
        let digest = ImageCacheKey.secretDigest("hunter2")
        #expect(!digest.contains("hunter2"))
        #expect(digest == ImageCacheKey.secretDigest("hunter2"))
        #expect(digest != ImageCacheKey.secretDigest("hunter3"))
        let form = ImageCacheKey(builderName: "p", builderVersion: "1", toolVersion: nil, templateFiles: [],
                                 vars: ["token": digest], architecture: "x86_64").canonicalForm
        #expect(!String(decoding: form, as: UTF8.self).contains("hunter2"))
    }

    @Test func nondeterministicTemplatesAreFound() {
        #expect(ImageCacheKey.nondeterministicCall(in: "locals { t = timestamp() }") == "timestamp()")
        #expect(ImageCacheKey.nondeterministicCall(in: "id = uuidv4 ( )") == "uuidv4()")
        #expect(ImageCacheKey.nondeterministicCall(in: #"{"name": "img-{{timestamp}}"}"#) == "{{timestamp}}")
        #expect(ImageCacheKey.nondeterministicCall(in: #"{"name": "{{ isotime \"2006\" }}"}"#) == "{{isotime}}")
        #expect(ImageCacheKey.nondeterministicCall(in: #"{"id": "{{uuid}}"}"#) == "{{uuid}}")
        // Names that merely contain the words are fine.
        #expect(ImageCacheKey.nondeterministicCall(in: "variable \"timestamp\" {}\nx = var.timestamp\nmy_timestamp(1)") == nil)
        #expect(ImageCacheKey.nondeterministicCall(in: "source \"null\" \"x\" {}") == nil)
    }
}
