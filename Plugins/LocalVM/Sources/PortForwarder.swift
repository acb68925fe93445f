import CLocalVM
import FoundationEssentials
import Basics
import Glibc
import PluginKit

/// Published ports: the plugin binds and listens on each host address itself, then hands the
/// sockets to `sandboxer-localvm-forward`, a small separate program that relays connections to
/// the sandbox's address. A userspace relay (not DNAT) because it serves 127.0.0.1 without
/// `route_localnet`, and because a real listener holds its port: nothing else can take it later.
enum PortForwarder {
    /// The helper's file name; by default it is looked for next to the plugin library.
    static let helperName = "sandboxer-localvm-forward"

    /// A bound, listening socket for one published port.
    struct Listener {
        var fd: Int32
        var publish: NetworkOptions.Publish
        /// The real port (the kernel's choice when 0 was asked for).
        var hostPort: Int
    }

    /// The helper to run: the configured path, or the file next to the plugin library. It must be
    /// root's and not writable by others, like the plugin itself (it runs as root until it drops).
    static func helper(configured: String?) throws(PluginError) -> String {
        var path = configured
        if path == nil {
            var buffer = [CChar](repeating: 0, count: 4096)
            if clvm_own_image_path(&buffer, buffer.count) == 0 {
                let own = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                path = (own).deletingLastPathComponent + "/" + helperName
            }
        }
        guard let path else {
            throw PluginError(.unavailable, "Published ports need \(helperName), and the plugin's own location is unknown: set 'forward_helper' in the localvm config.")
        }
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_mode & 0o111 != 0 else {
            throw PluginError(.unavailable, "Published ports need the program \(path) (product \(helperName), built and shipped next to the plugin), which is missing or not executable.")
        }
        var dir = stat()
        let parent = (path).deletingLastPathComponent
        guard st.st_uid == 0, st.st_mode & 0o022 == 0, stat(parent, &dir) == 0, dir.st_mode & 0o022 == 0 else {
            throw PluginError(.unavailable, "Published ports need \(path) owned by root and not writable by group or others (nor its directory).")
        }
        return path
    }

    /// Binds and listens on every published address; on failure closes what it opened.
    static func listen(_ publish: [NetworkOptions.Publish]) throws(PluginError) -> [Listener] {
        var result: [Listener] = []
        do {
            for p in publish { result.append(try listen(p)) }
        } catch {
            result.forEach { close($0.fd) }
            throw error
        }
        return result
    }

    private static func listen(_ p: NetworkOptions.Publish) throws(PluginError) -> Listener {
        guard let address = IPv4Prefix.parseAddress(p.hostAddress) else {
            throw PluginError(.invalidRequest, "The host address \(p.hostAddress) is not an IPv4 address.")
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw FileOps.failure("socket for", "\(p.hostAddress):\(p.hostPort)") }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = in_port_t(UInt16(p.hostPort).bigEndian)
        sa.sin_addr.s_addr = address.bigEndian
        let bound = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if bound != 0 || Glibc.listen(fd, 128) != 0 {
            let e = errno
            close(fd)
            switch e {
            case EADDRINUSE: throw PluginError(.conflict, "The host port \(p.hostAddress):\(p.hostPort) is already in use.")
            case EADDRNOTAVAIL: throw PluginError(.invalidRequest, "The host address \(p.hostAddress) is not an address of this host.")
            default: throw FileOps.failure("bind/listen on", "\(p.hostAddress):\(p.hostPort)", e)
            }
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Listener(fd: fd, publish: p, hostPort: Int(UInt16(bigEndian: sa.sin_port)))
    }

    /// Starts the forwarder for a sandbox (in its v2 cgroup when `cgroupFd` is given).
    static func spawn(helper: String, sandboxId: String, sandboxAddress: String, listeners: [Listener],
                      cgroupFd: Int32) throws(PluginError) -> ProcessIdentity {
        let argv = [helper, sandboxId] + listeners.enumerated().map { "\(3 + $0.offset)=\(sandboxAddress):\($0.element.publish.targetPort)" }
        var pid: pid_t = 0
        var err = [CChar](repeating: 0, count: 512)
        let fds = listeners.map(\.fd)
        let rc = Launcher.withCStringArray(argv) { argvp in
            Launcher.withCStringArray([]) { envp in
                fds.withUnsafeBufferPointer { listen in
                    helper.withCString { path in
                        var spec = clvm_forward_spec(path: path, argv: argvp, envp: envp, listen_fds: listen.baseAddress,
                                                     listen_count: listen.count, cgroup_fd: cgroupFd)
                        return clvm_spawn_forwarder(&spec, &pid, &err, err.count)
                    }
                }
            }
        }
        guard rc == 0 else {
            let message = String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw PluginError(.internal, "Starting the port forwarder of sandbox \(sandboxId) failed: \(message).")
        }
        guard let identity = ProcessIdentity.current(pid) else {
            throw PluginError(.internal, "The port forwarder of sandbox \(sandboxId) (pid \(pid)) exited right after it started.")
        }
        return identity
    }
}
