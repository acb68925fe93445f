import Foundation
import Testing
@testable import Packer

@Suite("packer -machine-readable lines")
struct PackerLineTests {
    @Test("a ui line splits into target, type and data, with packer's escapes undone")
    func uiLine() throws {
        let line = try #require(PackerLine.parse("1796038567,,ui,message,    null: 77 entries%!(PACKER_COMMA) marker 'a%!(PACKER_COMMA)b'"))
        #expect(line.timestamp == 1796038567)
        #expect(line.target == "")
        #expect(line.type == "ui")
        #expect(line.data == ["message", "    null: 77 entries, marker 'a,b'"])
    }

    @Test("\\n and \\r become newline and carriage return; other backslashes stay")
    func newlines() throws {
        let line = try #require(PackerLine.parse(#"1,,ui,error,Failed:\nAt line 1%!(PACKER_COMMA) col 2\r\n  \t{b"#))
        #expect(line.data == ["error", "Failed:\nAt line 1, col 2\r\n  \\t{b"])
    }

    @Test("artifact lines keep every field, empty ones included")
    func artifactLine() throws {
        let line = try #require(PackerLine.parse("1796038567,null,artifact,0,file,0,out/rootfs.tar"))
        #expect(line.target == "null")
        #expect(line.type == "artifact")
        #expect(line.data == ["0", "file", "0", "out/rootfs.tar"])
        #expect(PackerLine.parse("5,null,artifact-count,")?.data == [""])
    }

    @Test("lines that are not machine-readable output are refused", arguments: [
        "", "hello, world", "panic: runtime error: index out of range", ",,ui,say,x", "-1,,ui,say,x",
        "12a,,ui,say,x", "12,,UI,say,x", "12,,,say", "12,tar\u{1}get,ui,say,x",
    ])
    func malformed(_ text: String) {
        #expect(PackerLine.parse(text) == nil)
    }

    @Test("a trailing carriage return is not part of the last field")
    func carriageReturn() {
        #expect(PackerLine.parse("1,,ui,say,done\r")?.data == ["say", "done"])
    }

    @Test("random bytes never crash the parser or the progress machine")
    func fuzz() {
        var rng = SplitMix(seed: 0x5eed)
        let alphabet = Array("0123456789,,,,uiaerto-_%!(PACKER_COMMA)\\n\\r \u{0}\u{7f}é€🙂\n".unicodeScalars)
        var progress = BuildProgress()
        for _ in 0..<5000 {
            let count = Int(rng.next() % 80)
            var s = String.UnicodeScalarView()
            for _ in 0..<count { s.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
            let text = String(s)
            _ = PackerLine.parse(text)
            _ = progress.consume(text[...])
        }
        // Random prefixes of real lines too.
        let real = "1796038567,null,artifact,0,file,0,/out/rootfs%!(PACKER_COMMA).tar"
        for cut in 0...real.count { _ = PackerLine.parse(String(real.prefix(cut))); _ = progress.consume(real.prefix(cut)) }
        #expect(progress.artifactFiles.count <= BuildProgress.maxRemembered)
    }
}

/// A small deterministic generator, so a failure reproduces.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
