import Foundation
import Glibc
import PluginKit
import Testing
@testable import LocalVM

/// meta.json read without Codable must read exactly what `save` (JSONEncoder) writes, and refuse
/// what JSONDecoder refused.
@Suite("LocalVM meta.json reader")
struct LocalVMMetaJSONTests {
    static func sample(deadline: Int64?, network: String?, hostUidBase: UInt32?) -> SandboxMeta {
        SandboxMeta(sandboxId: "sbx-1", hostId: "host-\u{e9}\"q\"", profile: "default", labels: ["team": "a b", "x": "\u{1F600}"],
                    env: ["PATH": "/bin", "EMPTY": ""], createdAtMs: 1_796_082_944_974, initPid: 4_194_303,
                    initStartTime: 123_456_789_012, deadlineMs: deadline, image: "busybox", lowerDir: "/d/images/x/rootfs",
                    uidBase: 100_000, cgroupParent: "sandboxer/a/b", network: network, hostUidBase: hostUidBase,
                    ctlDev: hostUidBase.map { _ in 0x2F }, ctlIno: hostUidBase.map { _ in UInt64.max })
    }

    @Test("every field round-trips through save and load, optionals present and absent",
          arguments: [(Int64?(1_796_083_000_000), String?("bridge"), UInt32?(1 << 20)), (nil, nil, nil)])
    func roundTrip(deadline: Int64?, network: String?, hostUidBase: UInt32?) throws {
        let meta = Self.sample(deadline: deadline, network: network, hostUidBase: hostUidBase)
        let path = NSTemporaryDirectory() + "localvm-meta-\(getpid())-\(UInt32.random(in: 0 ... .max)).json"
        defer { unlink(path) }
        try meta.save(path)
        #expect(try SandboxMeta.load(path) == meta)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(meta)
        #expect(meta.jsonData == data, "\(String(decoding: meta.jsonData, as: UTF8.self))")
        #expect(try SandboxMeta(json: data) == JSONDecoder().decode(SandboxMeta.self, from: data))
    }

    @Test("a missing file is nil; garbage, a wrong type or a missing field is an error naming the file")
    func refusals() throws {
        let dir = NSTemporaryDirectory() + "localvm-meta-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        try FileOps.mkdirs(dir, mode: 0o700)
        defer { _ = try? FileOps.removeTree(dir) }
        #expect(try SandboxMeta.load(dir + "/absent.json") == nil)
        var good = try JSONSerialization.jsonObject(with: JSONEncoder().encode(Self.sample(deadline: nil, network: nil, hostUidBase: nil))) as? [String: Any] ?? [:]
        good["init_pid"] = "12"
        var missing = good
        missing["init_pid"] = nil
        missing["lower_dir"] = nil
        for (name, bytes) in [("garbage", Data("{not json".utf8)), ("array", Data("[]".utf8)),
                              ("type", try JSONSerialization.data(withJSONObject: good)),
                              ("missing", try JSONSerialization.data(withJSONObject: missing))] {
            let path = dir + "/\(name).json"
            #expect(FileManager.default.createFile(atPath: path, contents: bytes))
            #expect(throws: (any Error).self) { _ = try JSONDecoder().decode(SandboxMeta.self, from: bytes) }
            let error = #expect(throws: PluginError.self) { _ = try SandboxMeta.load(path) }
            #expect(error?.message.contains(path) == true)
        }
    }
}
