import BYOKTestHosts
import Foundation
import Glibc
import Testing

/// BYOK when the controller dies: a create killed midway is reconciled, and a sandbox whose controller
/// is gone still ends at its own deadline on the host.
@Suite(.serialized, .enabled(if: BYOKSetup.unavailableReason == nil, "\(BYOKSetup.unavailableReason ?? "")"))
struct BYOKCrashEndToEndTests {
    /// The helper copy the plugin pushed to a host (content-addressed under node_dir/bin).
    func pushedHelper(_ host: SSHHosts.Host) throws -> String {
        let bin = host.nodeDir + "/bin"
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: bin).first { $0.hasPrefix("sandboxer-node-") && !$0.contains(".tmp") })
        return bin + "/" + name
    }

    @Test func theHelpersDeadlineEndsASandboxWithNoController() throws {
        let hosts = try SSHHosts(count: 1)
        defer { hosts.close() }
        let cli = try BYOKSetup.runner(hosts)
        let s = try BYOKSetup.create(cli)
        let h = hosts.hosts[0]
        let listed = try SSHHosts.sh([try pushedHelper(h), "--node-dir", h.nodeDir, "inventory"])
        let items = try #require(try JSONSerialization.jsonObject(with: Data(listed.utf8)) as? [String: Any])["sandboxes"] as? [[String: Any]]
        let pid = try #require(items?.first { $0["id"] as? String == s.id }?["pid"] as? Int)
        // No sandboxer process runs from here on. The deadline moves to 1 s from now, as an operator
        // on the host could (the hosts share this machine's kernel, so the helper runs here directly).
        let moved = try SSHHosts.sh([try pushedHelper(h), "--node-dir", h.nodeDir, "set-timeout", "--id", s.id, "--ttl-seconds", "1"])
        #expect(moved.contains("\"ok\":true") || moved.contains("\"ok\": true"), "\(moved)")
        // 60 s bounds a loaded machine; the init itself ends it after about 1 s.
        #expect(ProcessWatch.waitForExit(pid: Int32(pid), timeout: 60))
        let inventory = try SSHHosts.sh([try pushedHelper(h), "--node-dir", h.nodeDir, "inventory"])
        #expect(inventory.contains("\"alive\":false") || inventory.contains("\"alive\": false"), "\(inventory)")
        #expect(try cli.run(["destroy", s.id]).status == 0)
    }

    /// The one test on the Python stand-in: it pauses inside create (after the sandbox exists on the
    /// host, before the answer) on a FIFO handshake, which the real helper has no reason to offer.
    @Test(.enabled(if: Machine.hasTool("python3"), "the mid-create handshake is the Python stand-in's"))
    func aCreateKilledMidwayIsReconciled() throws {
        let hosts = try SSHHosts(count: 1)
        defer { hosts.close() }
        let cli = try BYOKSetup.runner(hosts, helper: BYOKSetup.standIn)
        let h = hosts.hosts[0]
        try FileManager.default.createDirectory(atPath: h.nodeDir, withIntermediateDirectories: true)
        let reached = h.nodeDir + "/create-reached", hold = h.nodeDir + "/create-hold"
        #expect(mkfifo(reached, 0o600) == 0 && mkfifo(hold, 0o600) == 0)
        let running = try cli.start(["create", "--json"])
        // The stand-in has made the sandbox on the host and waits: kill -9 the CLI now.
        let reader = try FileHandle(forReadingFrom: URL(fileURLWithPath: reached))
        let id = String(decoding: reader.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        try reader.close()
        kill(running.process.processIdentifier, SIGKILL)
        running.process.waitUntilExit()
        let release = try FileHandle(forWritingTo: URL(fileURLWithPath: hold))
        try release.close()
        try FileManager.default.removeItem(atPath: reached)
        try FileManager.default.removeItem(atPath: hold)
        #expect(FileManager.default.fileExists(atPath: "\(h.nodeDir)/sandboxes/\(id)"))

        // The next command reconciles: the row is failed and what the create made is destroyed.
        let shown = try cli.run(["show", id, "--json"])
        #expect(try shown.object()["state"] as? String == "failed", "\(shown.stdout) \(shown.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(h.nodeDir)/sandboxes/\(id)"))
        let stale = try cli.run(["reap-stale", "--json"]).object()
        #expect((stale["orphans"] as? [Any])?.isEmpty == true)
    }
}
