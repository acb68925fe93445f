import Foundation
import Glibc
import PluginKit
import Testing
@testable import LocalVM

/// Why the bridged-network tests cannot run here, or nil when they can.
let localVMNetworkSkipReason: String? = {
    if let reason = localVMSkipReason { return reason }
    if !NetFilter.available { return "Bridged LocalVM tests need nft (Debian package nftables)." }
    if access("/usr/sbin/ip", X_OK) != 0 && access("/sbin/ip", X_OK) != 0 { return "Bridged LocalVM tests need ip (iproute2)." }
    if access("/usr/bin/nsenter", X_OK) != 0 { return "Bridged LocalVM tests need nsenter (util-linux)." }
    return nil
}()

/// Enables a test only where bridged sandboxes (veth pairs, nftables) can really be built.
let localVMNetworkAvailable = Testing.ConditionTrait.enabled(
    if: localVMNetworkSkipReason == nil, Comment(rawValue: localVMNetworkSkipReason ?? "ok"))

/// Test-only network helpers. Every address used lies on links to namespaces the tests make.
enum NetTest {
    /// Runs a host command to completion; returns its exit status and output (stderr merged).
    /// posix_spawn and waitpid, not Foundation's Process: that one waits for EOF on a socket its
    /// child inherits, which a daemon it starts (busybox httpd) keeps open forever.
    @discardableResult
    static func run(_ argv: [String]) -> (status: Int32, out: String) {
        let outFd: Int32
        do { outFd = try SnapshotArchive.unlinkedTempFile() } catch { return (-1, "\(error)") }
        defer { close(outFd) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outFd, 1)
        posix_spawn_file_actions_adddup2(&actions, outFd, 2)
        var pid: pid_t = 0
        let rc = Launcher.withCStringArray(argv) { args in
            Launcher.withCStringArray(["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]) { env in
                posix_spawn(&pid, argv[0], &actions, nil,
                            UnsafeMutablePointer(mutating: UnsafeRawPointer(args).assumingMemoryBound(to: UnsafeMutablePointer<CChar>?.self)),
                            UnsafeMutablePointer(mutating: UnsafeRawPointer(env).assumingMemoryBound(to: UnsafeMutablePointer<CChar>?.self)))
            }
        }
        guard rc == 0 else { return (-1, String(cString: strerror(rc))) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        var bytes = [UInt8](repeating: 0, count: 65536)
        let n = pread(outFd, &bytes, bytes.count, 0)
        let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exit, String(decoding: bytes.prefix(max(0, n)), as: UTF8.self))
    }

    /// Starts a program without waiting for it (posix_spawn; output to /dev/null), with
    /// `extraEnv` added to our environment.
    static func spawn(_ argv: [String], extraEnv: [String]) -> pid_t? {
        let env = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" } + extraEnv
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        let rc = Launcher.withCStringArray(argv) { args in
            Launcher.withCStringArray(env) { envp in
                posix_spawn(&pid, argv[0], &actions, nil,
                            UnsafeMutablePointer(mutating: UnsafeRawPointer(args).assumingMemoryBound(to: UnsafeMutablePointer<CChar>?.self)),
                            UnsafeMutablePointer(mutating: UnsafeRawPointer(envp).assumingMemoryBound(to: UnsafeMutablePointer<CChar>?.self)))
            }
        }
        return rc == 0 ? pid : nil
    }

    static let ip = access("/usr/sbin/ip", X_OK) == 0 ? "/usr/sbin/ip" : "/sbin/ip"

    /// A /26 pool inside 10.232.0.0/16 that no route or address of the host touches now.
    static func freePool() -> String {
        let used = HostNetwork.inUse().map(\.prefix)
        for _ in 0..<100 {
            let candidate = IPv4Prefix(base: 0x0ae8_0000 + UInt32.random(in: 0..<1024) * 64, length: 26)
            if !used.contains(where: { $0.overlaps(candidate) }) { return candidate.description }
        }
        return "10.232.255.192/26"
    }

    /// An HTTP/1.0 GET; the body, or nil when the connection failed (timeouts bound every step).
    static func httpGet(_ host: String, _ port: Int, path: String = "/") -> String? {
        guard let address = IPv4Prefix.parseAddress(host) else { return nil }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = in_port_t(UInt16(port).bigEndian)
        sa.sin_addr.s_addr = address.bigEndian
        let rc = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { return nil }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: \(host)\r\n\r\n".utf8)
        guard send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { return nil }
        var response = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while response.count < 1 << 20 {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            response.append(contentsOf: buffer.prefix(n))
        }
        let text = String(decoding: response, as: UTF8.self)
        guard text.hasPrefix("HTTP/1."), let split = text.range(of: "\r\n\r\n") else { return nil }
        return String(text[split.upperBound...])
    }

    /// Whether a TCP connect to host:port succeeds (bounded by a 5 s timeout).
    static func connects(_ host: String, _ port: Int) -> Bool { httpGet(host, port) != nil }
}

/// A network namespace the test makes, joined to the host by a veth pair (host end `lvu…`, never
/// `sbx…`), with a busybox httpd whose CGI answers the client's address: the stand-in for "the
/// internet" that egress tests reach, so no test sends a packet anywhere else.
final class Upstream {
    let netns: String
    let hostLink: String
    let hostAddress: String
    let address: String
    let port = 9000
    private let webDir: String

    init() throws {
        let tag = String(UInt32.random(in: 0 ... .max), radix: 16)
        netns = "lvnet-up-" + tag
        hostLink = "lvu" + tag.prefix(8)
        let used = HostNetwork.inUse().map(\.prefix)
        var base: UInt32 = 0x0ae9_0000
        for _ in 0..<100 {
            base = 0x0ae9_0000 + UInt32.random(in: 0..<16384) * 4
            if !used.contains(where: { $0.overlaps(IPv4Prefix(base: base, length: 30)) }) { break }
        }
        hostAddress = IPv4Prefix.format(base + 1)
        address = IPv4Prefix.format(base + 2)
        webDir = NSTemporaryDirectory() + "lvnet-www-" + tag
        let ip = NetTest.ip
        let steps: [[String]] = [
            [ip, "netns", "add", netns],
            [ip, "link", "add", hostLink, "type", "veth", "peer", "name", "up0"],
            [ip, "link", "set", "up0", "netns", netns],
            [ip, "addr", "add", hostAddress + "/30", "dev", hostLink],
            [ip, "link", "set", hostLink, "up"],
            [ip, "-n", netns, "addr", "add", address + "/30", "dev", "up0"],
            [ip, "-n", netns, "link", "set", "up0", "up"],
            [ip, "-n", netns, "link", "set", "lo", "up"],
        ]
        for step in steps {
            let r = NetTest.run(step)
            if r.status != 0 { finish(); throw PluginError(.internal, "\(step.joined(separator: " ")): \(r.out)") }
        }
        // Replies to a masqueraded sandbox arrive on this link and are forwarded back to the sandbox.
        try FileOps.writeKnob("/proc/sys/net/ipv4/conf/\(hostLink)/forwarding", "1")
        try FileOps.mkdirs(webDir + "/cgi-bin")
        try FileOps.writeText(webDir + "/cgi-bin/ip", "#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho \"$REMOTE_ADDR\"\n")
        _ = chmod(webDir + "/cgi-bin/ip", 0o755)
        // busybox httpd daemonizes only after it has bound its port: when nsenter returns, it listens.
        let r = NetTest.run(["/usr/bin/nsenter", "--net=/var/run/netns/\(netns)", "/bin/busybox", "httpd",
                             "-p", "\(address):\(port)", "-h", webDir])
        if r.status != 0 { finish(); throw PluginError(.internal, "httpd in \(netns): \(r.out)") }
    }

    /// Kills what runs in the namespace and removes it, the link and the web dir.
    func finish() {
        let pids = NetTest.run([NetTest.ip, "netns", "pids", netns]).out.split(separator: "\n").compactMap { Int32($0) }
        for pid in pids { ProcessIdentity.killAndWait(pid: pid, timeoutMs: 2000) }
        NetTest.run([NetTest.ip, "netns", "del", netns])
        NetTest.run([NetTest.ip, "link", "del", hostLink])
        _ = try? FileOps.removeTree(webDir)
    }
}

extension LocalVMWorld {
    /// A world with its own free network pool.
    static func bridged() throws -> LocalVMWorld { try LocalVMWorld(networkPool: NetTest.freePool()) }

    @discardableResult
    func createBridged(_ id: String, _ options: NetworkOptions = NetworkOptions()) throws -> CreateResponse {
        try plugin.create(request(id, network: "bridge"), network: options, call: .detached)
    }

    func endpoints(_ id: String, ports: [JSONValue] = []) throws -> [JSONValue] {
        let body: JSONValue = ["sandbox_id": .string(id), "backend_ref": .string(id), "ports": .array(ports)]
        let data = try plugin.invoke(operation: "endpoints", request: try JSONEncoder().encode(body), call: .detached)
        return try JSONDecoder().decode(JSONValue.self, from: data)["endpoints"]?.arrayValue ?? []
    }

    func lease(_ id: String) throws -> NetworkLease { try #require(try plugin.leases.load(id)) }

    /// Starts busybox httpd on `port` in a sandbox, serving `text` at /; it listens when this returns.
    func startHttpd(_ id: String, port: Int = 8080, text: String) throws {
        let r = try sh(id, "mkdir -p /www && echo \(text) > /www/index.html && httpd -p \(port) -h /www")
        #expect(r.exitCode == 0, "\(r.err)")
    }
}
