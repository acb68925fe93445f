import BYOKTestHosts
import Foundation
import Glibc
import Testing

/// BYOK through `sandboxer serve`: the server's ControlMaster is long-lived (one per host for the
/// server's life), and every HTTP call goes over it.
@Suite(.serialized, .enabled(if: BYOKSetup.unavailableReason == nil, "\(BYOKSetup.unavailableReason ?? "")"))
struct BYOKServeEndToEndTests {
    @Test func createExecDestroyOverServesMaster() throws {
        let hosts = try SSHHosts(count: 1)
        defer { hosts.close() }
        let cli = try BYOKSetup.runner(hosts)
        let serve = try ServeProcess(cli)
        defer { serve.stop() }
        let h = hosts.hosts[0]

        let created = LoopbackHTTP.request(port: serve.port, method: "POST", path: "/v1/sandboxes", body: #"{"profile":"default"}"#)
        try #require(created.status == 201, "\(created.status) \(created.body)")
        let id = try #require(Self.object(created.body)["id"] as? String)
        #expect(FileManager.default.fileExists(atPath: "\(h.nodeDir)/sandboxes/\(id)"))
        let masters = Self.masters(configUnder: cli.home)
        #expect(masters.count == 1, "serve runs one master per host: \(masters)")

        let hello = LoopbackHTTP.request(port: serve.port, method: "POST", path: "/v1/sandboxes/\(id)/exec",
                                         body: #"{"argv":["sh","-c","echo hi; echo err >&2; exit 7"]}"#)
        #expect(hello.status == 200, "\(hello.body)")
        let out = try Self.object(hello.body)
        #expect(out["stdout"] as? String == "hi\n" && out["stderr"] as? String == "err\n" && out["exit_code"] as? Int == 7, "\(out)")
        let fed = LoopbackHTTP.request(port: serve.port, method: "POST", path: "/v1/sandboxes/\(id)/exec",
                                       body: #"{"argv":["sh","-c","cat; exit 255"],"stdin":"fed"}"#)
        let fedOut = try Self.object(fed.body)
        #expect(fedOut["stdout"] as? String == "fed" && fedOut["exit_code"] as? Int == 255, "a command's 255 is its own: \(fedOut)")
        #expect(Self.masters(configUnder: cli.home) == masters, "both execs went over the same long-lived master")

        let gone = LoopbackHTTP.request(port: serve.port, method: "DELETE", path: "/v1/sandboxes/\(id)")
        #expect(gone.status == 200 || gone.status == 204, "\(gone.status) \(gone.body)")
        #expect(!FileManager.default.fileExists(atPath: "\(h.nodeDir)/sandboxes/\(id)"))
        let shown = LoopbackHTTP.request(port: serve.port, method: "GET", path: "/v1/sandboxes/\(id)")
        #expect((try? Self.object(shown.body))?["state"] as? String == "destroyed", "\(shown.body)")
    }

    static func object(_ body: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
    }

    /// Pids of live `ssh -M` masters using an ssh config under `dir` (zombies are not alive).
    static func masters(configUnder dir: String) -> Set<Int32> {
        var found: Set<Int32> = []
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry),
                  let raw = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                  let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8) else { continue }
            let argv = raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            let state = stat.split(separator: ")").last?.split(separator: " ").first
            guard state != "Z", argv.first.map({ $0.hasSuffix("/ssh") || $0 == "ssh" }) == true,
                  argv.contains("-M"), argv.contains(where: { $0.hasPrefix(dir) }) else { continue }
            found.insert(pid)
        }
        return found
    }
}
