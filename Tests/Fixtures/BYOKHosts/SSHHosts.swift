import Foundation
import Glibc

/// Test hosts for BYOK: sshd instances, each in a network namespace of its own (a veth pair, a
/// private 10.200.x.y/30), with its own host key, sharing one login account whose shell is `/bin/sh`
/// (uid 0, since the node helper needs root; root's own login shell sources a slow ~/.bashrc here).
/// `close()` removes everything it made: processes by pid, namespaces, links, the account, files.
public final class SSHHosts: @unchecked Sendable {
    // @unchecked: built once in `start`; `close()` is called once by the owning test.

    /// One host.
    public struct Host: Sendable {
        public var name: String
        public var namespace: String
        /// Our end and the namespace's end of the veth pair.
        public var outerLink: String
        public var innerLink: String
        public var address: String
        public var outerAddress: String
        /// `TYPE BASE64` of its host key.
        public var hostKey: String
        public var hostKeyPath: String
        public var sshdPid: pid_t
        public var nodeDir: String
    }

    public let dir: String
    public let user: String
    /// The client's private key (0600, ours) and its public line.
    public let identityFile: String
    public private(set) var hosts: [Host] = []
    private var sshdPids: [pid_t] = []
    private var closed = false

    /// Whether this machine can run the fixture, or why not.
    public static var unavailableReason: String? {
        if getuid() != 0 { return "needs root (network namespaces, sshd, a uid-0 account)" }
        for tool in ["/usr/sbin/sshd", "/usr/bin/ssh", "/usr/bin/ssh-keygen", "/usr/sbin/ip", "/usr/bin/nsenter", "/usr/sbin/useradd"] {
            if access(tool, X_OK) != 0 { return "needs \(tool) (Debian: openssh-server, openssh-client, iproute2, util-linux, passwd)" }
        }
        return nil
    }

    /// Starts `count` hosts; each is listening when this returns.
    public init(count: Int) throws {
        let tag = String(format: "%04x", UInt16.random(in: 0...UInt16.max))
        dir = "/tmp/byok-hosts-" + tag
        user = "sbxbk" + tag
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        identityFile = dir + "/client_ed25519"
        do {
            try Self.sh(["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "byok-test", "-f", identityFile])
            let pub = try String(contentsOfFile: identityFile + ".pub", encoding: .utf8)
            try pub.write(toFile: dir + "/authorized_keys", atomically: true, encoding: .utf8)
            try Self.sh(["/usr/sbin/useradd", "-o", "-u", "0", "-g", "0", "-M", "-d", dir + "/home", "-s", "/bin/sh", "-p", "*", user])
            try FileManager.default.createDirectory(atPath: dir + "/home", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
            for i in 0..<count { try addHost(index: i, tag: tag) }
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    private func addHost(index i: Int, tag: String) throws {
        let name = "h\(i + 1)"
        let ns = "sbxbk-\(tag)-\(i)"
        let outer = "bk\(tag)\(i)a", inner = "bk\(tag)\(i)b"
        // A /30 in 10.200/16 that no interface of this machine uses yet.
        let used = (try? Self.sh(["/usr/sbin/ip", "-o", "-4", "addr"])) ?? ""
        var third = 0, fourth = 0
        repeat {
            third = Int.random(in: 0...255); fourth = Int.random(in: 0...63) * 4
        } while used.contains("10.200.\(third).\(fourth + 1)/") || used.contains("10.200.\(third).\(fourth + 2)/")
        let outerAddress = "10.200.\(third).\(fourth + 1)", address = "10.200.\(third).\(fourth + 2)"
        try Self.sh(["/usr/sbin/ip", "netns", "add", ns])
        var host = Host(name: name, namespace: ns, outerLink: outer, innerLink: inner, address: address,
                        outerAddress: outerAddress, hostKey: "", hostKeyPath: "\(dir)/hostkey_\(name)", sshdPid: 0,
                        nodeDir: "\(dir)/node-\(name)")
        hosts.append(host)  // registered before anything else is made, so close() removes it
        try Self.sh(["/usr/sbin/ip", "link", "add", outer, "type", "veth", "peer", "name", inner])
        try Self.sh(["/usr/sbin/ip", "link", "set", inner, "netns", ns])
        try Self.sh(["/usr/sbin/ip", "addr", "add", outerAddress + "/30", "dev", outer])
        try Self.sh(["/usr/sbin/ip", "link", "set", outer, "up"])
        try Self.sh(["/usr/sbin/ip", "-n", ns, "addr", "add", address + "/30", "dev", inner])
        try Self.sh(["/usr/sbin/ip", "-n", ns, "link", "set", inner, "up"])
        try Self.sh(["/usr/sbin/ip", "-n", ns, "link", "set", "lo", "up"])
        try Self.sh(["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", host.hostKeyPath])
        host.hostKey = try Self.keyLine(host.hostKeyPath + ".pub")
        let config = """
            Port 22
            ListenAddress \(address)
            HostKey \(host.hostKeyPath)
            PidFile \(dir)/sshd_\(name).pid
            AuthorizedKeysFile \(dir)/authorized_keys
            StrictModes no
            UsePAM no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PermitRootLogin prohibit-password
            AllowUsers \(user)
            MaxSessions 64
            MaxStartups 64:30:128

            """
        try config.write(toFile: "\(dir)/sshd_\(name).conf", atomically: true, encoding: .utf8)
        // nsenter, not `ip netns exec`: that remounts /sys, leaving /sys/fs/cgroup empty for the
        // node helper, which needs the host's cgroups.
        let sshd = try Spawn.start(["/usr/bin/nsenter", "--net=/var/run/netns/\(ns)", "/usr/sbin/sshd", "-D", "-e",
                                    "-f", "\(dir)/sshd_\(name).conf"], stdout: false)
        sshdPids.append(sshd.pid)
        host.sshdPid = sshd.pid
        hosts[hosts.count - 1] = host
        // Ready when sshd says it listens (its stderr); the reader drains it afterwards so a chatty
        // sshd never blocks on a full pipe.
        let ready = DispatchSemaphore(value: 0)
        let fd = sshd.err
        let listening = Spawn.Box()
        Thread.detachNewThread {
            var seen = Data(), signalled = false
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(fd, &buffer, buffer.count)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                if !signalled {
                    seen.append(contentsOf: buffer[0..<n])
                    if String(decoding: seen, as: UTF8.self).contains("Server listening") {
                        signalled = true; listening.data = Data([1]); ready.signal()
                    }
                }
            }
            Glibc.close(fd)
            if !signalled { ready.signal() }
        }
        ready.wait()
        guard listening.data == Data([1]) else { throw FixtureError("sshd for \(name) exited before listening") }
    }

    /// Takes the namespace's end of a host's link down (a partition) or up again.
    public func setLink(_ host: Host, up: Bool) throws {
        try Self.sh(["/usr/sbin/ip", "-n", host.namespace, "link", "set", host.innerLink, up ? "up" : "down"])
    }

    /// Removes everything: sshd processes (by pid), namespaces, links, the account, the directory.
    public func close() {
        if closed { return }
        closed = true
        for h in hosts { destroySandboxes(h) }
        for pid in sshdPids {
            kill(pid, SIGKILL)
            Spawn.wait(pid)
        }
        for h in hosts {
            _ = try? Self.sh(["/usr/sbin/ip", "link", "del", h.outerLink])
            _ = try? Self.sh(["/usr/sbin/ip", "netns", "del", h.namespace])
        }
        _ = try? Self.sh(["/usr/sbin/userdel", "-f", user])  // -f: uid 0 always has processes
        _ = try? FileManager.default.removeItem(atPath: dir)
    }

    /// Destroys what a failed test left on a host, with the helper the plugin pushed there (the
    /// sandboxes share this kernel: their processes and cgroups would outlive the fixture).
    func destroySandboxes(_ h: Host) {
        let bin = h.nodeDir + "/bin"
        guard let name = (try? FileManager.default.contentsOfDirectory(atPath: bin))?
            .first(where: { $0.hasPrefix("sandboxer-node-") && !$0.contains(".tmp") }) else { return }
        let helper = bin + "/" + name
        guard let listed = try? Self.sh([helper, "--node-dir", h.nodeDir, "inventory"]),
              let object = try? JSONSerialization.jsonObject(with: Data(listed.utf8)) as? [String: Any],
              let items = object["sandboxes"] as? [[String: Any]] else { return }
        for id in items.compactMap({ $0["id"] as? String }) {
            _ = try? Self.sh([helper, "--node-dir", h.nodeDir, "destroy", "--id", id])
        }
    }

    /// `TYPE BASE64` of a .pub file.
    static func keyLine(_ path: String) throws -> String {
        let parts = try String(contentsOfFile: path, encoding: .utf8).split(separator: " ")
        guard parts.count >= 2 else { throw FixtureError("\(path) is not a public key") }
        return "\(parts[0]) \(parts[1])"
    }

    /// A fresh host key line that no host uses (for "changed key" tests).
    public func otherHostKey() throws -> String {
        let path = dir + "/other_\(UInt32.random(in: 0...UInt32.max))"
        try Self.sh(["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path])
        return try Self.keyLine(path + ".pub")
    }

    /// Runs a command to completion; throws with its stderr when it fails.
    @discardableResult
    public static func sh(_ argv: [String]) throws -> String {
        let r = try Spawn.run(argv)
        guard r.status == 0 else {
            throw FixtureError("\(argv.joined(separator: " ")) failed (\(r.status)): \(String(decoding: r.err, as: UTF8.self))")
        }
        return String(decoding: r.out, as: UTF8.self)
    }

    /// The plugin config's `hosts` list as YAML lines (indented by `indent` spaces).
    public func hostsYAML(indent: Int, capacity: Int = 8, labels: [String: [String: String]] = [:],
                          hostKeys: [String: String] = [:]) -> String {
        let pad = String(repeating: " ", count: indent)
        return hosts.map { h in
            var lines = ["- name: \(h.name)", "  address: \(h.address)", "  port: 22", "  user: \(user)",
                         "  host_key: \"\(hostKeys[h.name] ?? h.hostKey)\"", "  capacity: \(capacity)", "  node_dir: \(h.nodeDir)"]
            if let l = labels[h.name], !l.isEmpty {
                lines.append("  labels: {" + l.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}")
            }
            return lines.map { pad + $0 }.joined(separator: "\n")
        }.joined(separator: "\n")
    }
}

/// A fixture failure, with a message for the test log.
public struct FixtureError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}
