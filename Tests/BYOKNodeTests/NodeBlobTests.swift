import Basics
import Foundation
import Glibc
import Testing

@Suite("BYOK node helper: protocol basics and blobs", nodeAvailable)
struct NodeBlobTests {
    @Test("version answers the protocol revision; unknown verbs and bad options are one JSON error")
    func versionAndUsage() throws {
        let w = try NodeWorld()
        defer { w.finish() }
        let v = try w.ok(["version"])
        #expect(v["protocol"] as? Int == 1)
        for args in [["frobnicate"], ["create", "--id", "UPPER", "--image", String(repeating: "a", count: 64), "--ttl-seconds", "5"],
                     ["create", "--id", "x"], ["destroy"], ["set-timeout", "--id", "x", "--ttl-seconds", "-1"]] {
            let o = try w.run(args)
            #expect(o["ok"] as? Bool == false)
            #expect(o["code"] as? String == "invalid_request", "\(args): \(o)")
        }
    }

    @Test("put-blob stores verified bytes atomically, answers existed the second time, refuses a wrong hash")
    func putBlob() throws {
        let w = try NodeWorld()
        defer { w.finish() }
        let bytes = Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 * 7) })
        let hex = SHA256.hex(SHA256.hash(Array(bytes)))
        let first = try w.ok(["put-blob", "--sha256", hex], stdin: bytes)
        #expect(first["existed"] as? Bool == false)
        #expect(first["size_bytes"] as? Int == bytes.count)
        #expect(FileManager.default.contents(atPath: w.nodeDir + "/blobs/" + hex) == bytes)
        let again = try w.ok(["put-blob", "--sha256", hex], stdin: bytes)
        #expect(again["existed"] as? Bool == true)

        let wrong = String(repeating: "0", count: 64)
        let bad = try w.run(["put-blob", "--sha256", wrong], stdin: bytes)
        #expect(bad["ok"] as? Bool == false)
        #expect(bad["code"] as? String == "invalid_request")
        #expect((bad["message"] as? String ?? "").contains(hex))
        let left = try FileManager.default.contentsOfDirectory(atPath: w.nodeDir + "/blobs")
        #expect(left == [hex], "nothing but the verified blob remains: \(left)")

        let upper = try w.run(["put-blob", "--sha256", hex.uppercased()], stdin: bytes)
        #expect(upper["code"] as? String == "invalid_request")
    }

    @Test("create from a blob that was never pushed is not_found; gc removes unkept images and blobs")
    func missingImageAndGC() throws {
        let w = try NodeWorld()
        defer { w.finish() }
        let missing = try w.run(["create", "--id", "a", "--image", String(repeating: "b", count: 64), "--ttl-seconds", "60"])
        #expect(missing["code"] as? String == "not_found")
        #expect(!FileManager.default.fileExists(atPath: w.nodeDir + "/sandboxes/a"), "a failed create leaves no directory")

        let image = try w.pushImage()
        let junk = Data("junk".utf8)
        let junkHex = SHA256.hex(SHA256.hash(Array(junk)))
        try w.ok(["put-blob", "--sha256", junkHex], stdin: junk)
        try w.create("a", image: image)
        // The image is in use by sandbox a: kept even when not listed; the junk blob goes.
        let gc = try w.ok(["gc"])
        #expect(gc["removed_blobs"] as? Int == 1)
        #expect(FileManager.default.fileExists(atPath: w.nodeDir + "/images/\(image)/rootfs/bin/sh"))
        try w.ok(["destroy", "--id", "a"])
        let kept = try w.ok(["gc", "--keep-images", image])
        #expect(kept["removed_images"] as? Int == 0)
        let all = try w.ok(["gc"])
        #expect(all["removed_images"] as? Int == 1)
        #expect(all["removed_blobs"] as? Int == 1)
    }
}
