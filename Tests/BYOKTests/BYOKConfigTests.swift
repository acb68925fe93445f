import Foundation
import Testing
@testable import BYOK
import PluginKit

@Suite struct BYOKConfigTests {
    static let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ"

    func config(_ extra: [String: JSONValue] = [:], host: [String: JSONValue] = [:]) -> JSONValue {
        var h: [String: JSONValue] = ["name": "h1", "address": "10.200.1.2", "user": "sandboxer", "host_key": .string(Self.key)]
        h.merge(host) { _, new in new }
        var o: [String: JSONValue] = ["data_dir": "/var/lib/sandboxer", "key_secret": "byok_key", "hosts": .array([.object(h)])]
        o.merge(extra) { _, new in new }
        return .object(o)
    }

    func refusal(_ json: JSONValue) -> String? {
        do { _ = try BYOKConfig(json: json); return nil } catch { return error.message }
    }

    @Test func defaultsAndNames() throws {
        let c = try BYOKConfig(json: config(host: ["labels": .object(["zone": "a"]), "capacity": 3]))
        #expect(c.key == .secret("byok_key"))
        let h = try #require(c.host("h1"))
        #expect(h.port == 22 && h.capacity == 3 && h.labels == ["zone": "a"] && h.nodeDir == "/var/lib/sandboxer-node")
        #expect(h.alias == "byok-h1")
        #expect(c.serverAliveInterval == 5 && c.serverAliveCountMax == 3)
    }

    @Test func keyComesFromExactlyOneSource() {
        #expect(refusal(config(["identity_file": "/etc/k"]))?.contains("both") == true)
        var o = config().objectValue!
        o["key_secret"] = nil
        #expect(refusal(.object(o))?.contains("identity_file") == true)
    }

    @Test func hostKeyIsPinnedAndChecked() throws {
        #expect(refusal(config(host: ["host_key": "not a key"]))?.contains("host_key") == true)
        #expect(refusal(config(host: ["host_key": "ssh-ed25519 !!!!!!!!!!!!!!!!!!!!"]))?.contains("host_key") == true)
        // A trailing comment is dropped.
        let c = try BYOKConfig(json: config(host: ["host_key": .string(Self.key + " root@box")]))
        #expect(c.hosts[0].hostKey == Self.key)
    }

    @Test func unsafeValuesAreRefused() {
        #expect(refusal(config(host: ["address": "-oProxyCommand=x"])) != nil)
        #expect(refusal(config(host: ["user": "a b"])) != nil)
        #expect(refusal(config(host: ["node_dir": "relative"])) != nil)
        #expect(refusal(config(host: ["node_dir": "/a b"])) != nil)
        #expect(refusal(config(host: ["capacity": 0])) != nil)
        #expect(refusal(config(host: ["port": 70000])) != nil)
        #expect(refusal(config(["surprise": 1]))?.contains("unknown key 'surprise'") == true)
        #expect(refusal(config(host: ["surprise": 1]))?.contains("unknown key 'surprise'") == true)
    }

    @Test func hostNamesAreUnique() {
        var o = config().objectValue!
        o["hosts"] = .array([o["hosts"]!.arrayValue![0], o["hosts"]!.arrayValue![0]])
        #expect(refusal(.object(o))?.contains("used twice") == true)
    }

    @Test func identityFileMustBePrivateAndOurs() throws {
        let dir = NSTemporaryDirectory() + "byok-cfg-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/key"
        try Data("k".utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o644)
        #expect(throws: PluginError.self) { try SSHFiles.checkIdentityFile(path) }
        chmod(path, 0o600)
        try SSHFiles.checkIdentityFile(path)
        #expect(throws: PluginError.self) { try SSHFiles.checkIdentityFile(dir + "/missing") }
    }

    @Test func generatedSSHConfigPinsAndNeverReadsTheUsersFiles() throws {
        let c = try BYOKConfig(json: config())
        let files = SSHFiles(config: c)
        let text = SSHFiles.configText(c, files: files)
        for line in ["BatchMode yes", "StrictHostKeyChecking yes", "GlobalKnownHostsFile /dev/null", "IdentitiesOnly yes",
                     "UpdateHostKeys no", "UserKnownHostsFile \(files.knownHostsPath)", "HostKeyAlias byok-h1",
                     "ControlPath \(files.controlDir)/h1", "ServerAliveInterval 5", "ServerAliveCountMax 3"] {
            #expect(text.contains(line), "missing: \(line)")
        }
        #expect(SSHFiles.knownHostsText(c) == "byok-h1 \(Self.key)\n")
        #expect(files.controlPath(c.hosts[0]).utf8.count < 104)
    }

    @Test func longDataDirsGetAShortControlDir() throws {
        let long = "/" + String(repeating: "d", count: 90)
        let c = try BYOKConfig(json: config(["data_dir": .string(long)]))
        let files = SSHFiles(config: c)
        #expect(files.controlDir.hasPrefix("/tmp/sandboxer-byok-"))
        #expect(files.controlPath(c.hosts[0]).utf8.count < 104)
    }
}
