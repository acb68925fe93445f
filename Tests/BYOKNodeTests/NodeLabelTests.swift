import Basics
import Foundation
import Glibc
import Testing

@Suite("BYOK node helper: sandbox labels", nodeAvailable, .timeLimit(.minutes(2)))
struct NodeLabelTests {
    @Test("create --label is kept with the sandbox and inventory returns it per sandbox, JSON-escaped")
    func labelsRoundTrip() throws {
        let w = try NodeWorld()
        defer { w.finish() }
        let image = try w.pushImage()
        let odd = "quote\" back\\slash é ünï 🙂"
        try w.create("l1", image: image, extra: ["--label", "sandboxer.host=h-1", "--label", "sandboxer.sandbox=sbx-9",
                                                   "--label", "odd=\(odd)", "--label", "empty="])
        try w.create("l2", image: image)
        let inv = try NodeLifecycleTests.inventory(w)
        let labels = try #require(inv["l1"]?["labels"] as? [String: String])
        #expect(labels == ["sandboxer.host": "h-1", "sandboxer.sandbox": "sbx-9", "odd": odd, "empty": ""])
        #expect(inv["l2"]?["labels"] as? [String: String] == [:], "a sandbox without labels has an empty object")
        let created = try #require(inv["l1"]?["created_unix_ms"] as? Int)
        let deadline = try #require(inv["l1"]?["deadline_unix_ms"] as? Int)
        #expect(deadline - created == 600_000)
    }

    @Test("labels are part of the idempotency comparison; their order is not")
    func labelsInFingerprint() throws {
        let w = try NodeWorld()
        defer { w.finish() }
        let image = try w.pushImage()
        let base = ["create", "--id", "f1", "--image", image, "--ttl-seconds", "600"]
        let pid = try w.create("f1", image: image, extra: ["--label", "a=1", "--label", "b=2"])
        let reordered = try w.ok(base + ["--label", "b=2", "--label", "a=1"])
        #expect(reordered["existed"] as? Bool == true && reordered["pid"] as? Int == Int(pid))
        for other in [["--label", "a=1"], ["--label", "a=1", "--label", "b=3"], ["--label", "a=1", "--label", "b=2", "--label", "c=3"], ["--env", "a=1", "--label", "b=2"]] {
            let answer = try w.run(base + other)
            #expect(answer["code"] as? String == "invalid_request", "\(other) must not match the first create")
        }
        #expect(try NodeLifecycleTests.inventory(w)["f1"]?["labels"] as? [String: String] == ["a": "1", "b": "2"])
    }

    @Test("labels are bounded: 32 entries, names of 63 bytes, values of 256, no control characters, UTF-8, no repeats")
    func labelBounds() throws {
        let w = try NodeWorld()
        defer { w.finish() }
        let image = try w.pushImage()
        let base = ["create", "--id", "b1", "--image", image, "--ttl-seconds", "600"]
        let many = (0..<33).flatMap { ["--label", "k\($0)=v"] }
        let refused: [([String], String)] = [
            (many, "at most 32"),
            (["--label", String(repeating: "k", count: 64) + "=v"], "longer than 63"),
            (["--label", "k=" + String(repeating: "v", count: 257)], "longer than 256"),
            (["--label", "k=line\nbreak"], "control character"),
            (["--label", "k=tab\there"], "control character"),
            (["--label", "k=\u{7f}"], "control character"),
            (["--label", "=v"], "non-empty NAME"),
            (["--label", "novalue"], "non-empty NAME"),
            (["--label", "k=1", "--label", "k=2"], "given twice"),
        ]
        for (args, words) in refused {
            let answer = try w.run(base + args)
            #expect(answer["code"] as? String == "invalid_request", "\(args.prefix(2))")
            let message = answer["message"] as? String ?? ""
            #expect(message.contains(words), "\(message)")
            #expect(!message.contains("vvvvvvvv"), "a refusal never echoes a label's value")
        }
        // Bytes that are not UTF-8 cannot travel in a Swift String argument: a shell's printf makes them.
        let sh = Process()
        sh.executableURL = URL(fileURLWithPath: "/bin/sh")
        sh.arguments = ["-c", "exec \"$@\" --label \"$(printf 'k=\\303(')\"", "sh", try #require(NodeWorld.helper), "--node-dir", w.nodeDir] + base
        let out = Pipe()
        sh.standardOutput = out
        sh.standardError = FileHandle.nullDevice
        try sh.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        sh.waitUntilExit()
        #expect(text.contains("not valid UTF-8"), "\(text)")
        #expect(try NodeLifecycleTests.inventory(w).isEmpty, "a refused create leaves nothing")
        // The limits themselves are accepted.
        let most = (0..<32).flatMap { ["--label", String(format: "%063d", $0) + "=" + String(repeating: "v", count: 256)] }
        try w.create("b1", image: image, extra: most)
        let labels = try #require(try NodeLifecycleTests.inventory(w)["b1"]?["labels"] as? [String: String])
        #expect(labels.count == 32 && labels.values.allSatisfy { $0.utf8.count == 256 })
    }
}
