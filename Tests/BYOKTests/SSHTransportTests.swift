import Foundation
import Testing
@testable import BYOK
import BYOKTestHosts
import PluginKit

/// The transport against real sshd hosts in network namespaces (the fixture needs root and openssh-server).
@Suite(.serialized, .enabled(if: SSHHosts.unavailableReason == nil, "\(SSHHosts.unavailableReason ?? "")"))
struct SSHTransportTests {
    /// A config over the fixture's hosts; `hostKeys` overrides pinned keys by host name.
    static func config(_ hosts: SSHHosts, dataDir: String, hostKeys: [String: String] = [:],
                       keySecret: Bool = false) throws -> BYOKConfig {
        var object: [String: JSONValue] = [
            "data_dir": .string(dataDir), "server_alive_interval": 1, "server_alive_count_max": 2, "connect_timeout_seconds": 3,
            "hosts": .array(hosts.hosts.map { h in
                .object(["name": .string(h.name), "address": .string(h.address), "user": .string(hosts.user),
                         "host_key": .string(hostKeys[h.name] ?? h.hostKey), "node_dir": .string(h.nodeDir)])
            }),
        ]
        if keySecret { object["key_secret"] = "byok_key" } else { object["identity_file"] = .string(hosts.identityFile) }
        return try BYOKConfig(json: .object(object))
    }

    static func transport(_ config: BYOKConfig, secrets: [String: String] = [:]) throws -> SSHTransport {
        let files = SSHFiles(config: config)
        try files.write(config)
        return SSHTransport(config: config, files: files, host: .standalone(secrets: secrets))
    }

    @Test func runsCommandsOnEveryHostThroughItsMaster() throws {
        let hosts = try SSHHosts(count: 3)
        defer { hosts.close() }
        let config = try Self.config(hosts, dataDir: hosts.dir + "/data")
        let transport = try Self.transport(config)
        for h in config.hosts {
            let (result, out) = try transport.capture(h, "echo \"$0 on \(h.name)\"; read line; echo \"got $line\"; exit 3",
                                                      input: Data("ping\n".utf8), call: .detached)
            #expect(result.status == 3)
            #expect(String(decoding: out, as: UTF8.self).hasSuffix("on \(h.name)\ngot ping\n"))
            #expect(transport.masters[h.name]?.isUp() == true)
        }
        // The sockets are where the config says, one per host.
        for h in config.hosts { #expect(FileManager.default.fileExists(atPath: transport.files.controlPath(h))) }
    }

    @Test func changedAndUnknownHostKeysAreRefused() throws {
        let hosts = try SSHHosts(count: 2)
        defer { hosts.close() }
        // h1 pinned to h2's key (a changed key); h2 pinned to a key no host has (an unknown one).
        let config = try Self.config(hosts, dataDir: hosts.dir + "/data",
                                     hostKeys: ["h1": hosts.hosts[1].hostKey, "h2": try hosts.otherHostKey()])
        let transport = try Self.transport(config)
        for h in config.hosts {
            let error = #expect(throws: PluginError.self) { try transport.capture(h, "true", call: .detached) }
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains("does not match the pinned host_key") == true, "\(error?.message ?? "")")
        }
    }

    @Test func keyFromASecretIsWrittenOnlyWhileConnecting() throws {
        let hosts = try SSHHosts(count: 1)
        defer { hosts.close() }
        let config = try Self.config(hosts, dataDir: hosts.dir + "/data", keySecret: true)
        let key = try String(contentsOfFile: hosts.identityFile, encoding: .utf8)
        let transport = try Self.transport(config, secrets: ["byok_key": key])
        let h = config.hosts[0]
        let (result, _) = try transport.capture(h, "true", call: .detached)
        #expect(result.status == 0)
        #expect(!FileManager.default.fileExists(atPath: transport.files.identityPath(h)))
        // Without the secret the connection is refused with a message naming the setting, not the key.
        let bare = try Self.transport(try Self.config(hosts, dataDir: hosts.dir + "/data2", keySecret: true))
        let error = #expect(throws: PluginError.self) { try bare.capture(h, "true", call: .detached) }
        #expect(error?.message.contains("key_secret") == true)
    }

    @Test func aPartitionIsNoticedAndTheMasterComesBack() throws {
        let hosts = try SSHHosts(count: 2)
        defer { hosts.close() }
        let config = try Self.config(hosts, dataDir: hosts.dir + "/data")
        let transport = try Self.transport(config)
        let (h1, h2) = (config.hosts[0], config.hosts[1])
        for h in [h1, h2] { _ = try transport.capture(h, "true", call: .detached) }
        try hosts.setLink(hosts.hosts[0], up: false)
        // Keepalive (1 s × 2) ends the master; 30 s is a bound for a loaded machine, not a measurement.
        #expect(transport.masters["h1"]?.waitUntilDown(timeout: 30) == true)
        let error = #expect(throws: PluginError.self) { try transport.capture(h1, "true", call: .detached) }
        #expect(error?.code == .unavailable)
        #expect(try transport.capture(h2, "echo fine", call: .detached).1 == Data("fine\n".utf8))
        try hosts.setLink(hosts.hosts[0], up: true)
        // The supervisor restarts it with backoff; a call waits for it up to the connect wait.
        var answered = false
        for _ in 0..<20 where !answered {
            answered = (try? transport.capture(h1, "true", call: .detached)) != nil
            if !answered { _ = transport.masters["h1"]?.waitUntilUp(timeout: 5) }
        }
        #expect(answered)
    }
}
