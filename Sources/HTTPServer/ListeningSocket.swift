import CHTTPShims
import Glibc

/// A bound, listening, non-blocking socket and the address it really got.
struct ListeningSocket {
    let fd: Int32
    /// The bound address (port 0 replaced by the real port; host names by the numeric address).
    let address: ListenAddress
    /// The socket file to remove on shutdown, for unix sockets.
    let unixPath: String?

    static let socketFlags = Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)

    /// Creates, binds and listens.
    static func open(_ address: ListenAddress, backlog: Int32) throws(HTTPServerError) -> ListeningSocket {
        switch address {
        case .tcp(let host, let port): return try openTCP(host: host, port: port, backlog: backlog)
        case .unix(let path): return try openUnix(path: path, backlog: backlog)
        }
    }

    private static func openTCP(host: String, port: Int, backlog: Int32) throws(HTTPServerError) -> ListeningSocket {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host == "*" ? nil : host, String(port), &hints, &list)
        guard status == 0, let list else {
            throw HTTPServerError(.resolve, "Could not resolve `\(host)`: \(String(cString: gai_strerror(status))).")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address to bind"
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let info = entry {
            entry = info.pointee.ai_next
            guard case .success(let fd) = SystemCall.retrying({
                socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | socketFlags, 0)
            }) else { lastError = "socket: \(SystemErrno(errno))"; continue }
            var one: Int32 = 1
            _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            if case .failure(let error) = SystemCall.retrying({ bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) }) {
                lastError = "\(error)"
                SystemCall.close(fd)
                continue
            }
            if case .failure(let error) = SystemCall.retrying({ listen(fd, backlog) }) {
                SystemCall.close(fd)
                throw HTTPServerError(.listen, "listen on \(host):\(port) failed: \(error).")
            }
            let bound = boundAddress(fd) ?? .tcp(host: host, port: port)
            return ListeningSocket(fd: fd, address: bound, unixPath: nil)
        }
        throw HTTPServerError(.bind, "Could not bind \(ListenAddress.tcp(host: host, port: port)): \(lastError).")
    }

    private static func openUnix(path: String, backlog: Int32) throws(HTTPServerError) -> ListeningSocket {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            throw HTTPServerError(.invalidAddress, "The unix socket path `\(path)` is longer than \(capacity - 1) bytes.")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        try removeStaleSocket(path: path, address: address)
        let fd = try SystemCall.retrying { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | socketFlags, 0) }
            .orThrow(.bind, "socket(AF_UNIX)")
        let length = socklen_t(MemoryLayout<sockaddr_un>.size)
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in SystemCall.retrying { bind(fd, sa, length) } }
        }
        if case .failure(let error) = bound {
            SystemCall.close(fd)
            throw HTTPServerError(.bind, "Could not bind the unix socket `\(path)`: \(error).")
        }
        // Group access only; the file is not yet listening, so the brief window before chmod is harmless.
        if case .failure(let error) = SystemCall.retrying({ chmod(path, 0o660) }) {
            SystemCall.close(fd)
            unlink(path)
            throw HTTPServerError(.bind, "Could not set mode 0660 on `\(path)`: \(error).")
        }
        if case .failure(let error) = SystemCall.retrying({ listen(fd, backlog) }) {
            SystemCall.close(fd)
            unlink(path)
            throw HTTPServerError(.listen, "listen on the unix socket `\(path)` failed: \(error).")
        }
        return ListeningSocket(fd: fd, address: .unix(path: path), unixPath: path)
    }

    /// Removes a socket file left by a previous run. Refuses a file that is not a socket, and a
    /// socket another server still answers on.
    private static func removeStaleSocket(path: String, address: sockaddr_un) throws(HTTPServerError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw HTTPServerError(.bind, "`\(path)` exists and is not a socket; refusing to replace it.")
        }
        var probeAddress = address
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if probe >= 0 {
            let live = withUnsafePointer(to: &probeAddress) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                    SystemCall.retrying { connect(probe, sa, socklen_t(MemoryLayout<sockaddr_un>.size)) }
                }
            }
            SystemCall.close(probe)
            if case .success = live {
                throw HTTPServerError(.bind, "Another server is listening on `\(path)`.")
            }
        }
        unlink(path)
    }

    /// getsockname(2) as a `ListenAddress`.
    private static func boundAddress(_ fd: Int32) -> ListenAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
        }
        guard ok, let (host, port) = SocketAddress.hostAndPort(storage) else { return nil }
        return .tcp(host: host, port: port)
    }
}

/// Formatting of socket addresses.
enum SocketAddress {
    /// The numeric host and port of an IPv4 or IPv6 address.
    static func hostAndPort(_ storage: sockaddr_storage) -> (String, Int)? {
        var copy = storage
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &copy) { pointer in
                pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    var addr = sin.pointee.sin_addr
                    guard inet_ntop(AF_INET, &addr, &text, socklen_t(text.count)) != nil else { return nil }
                    return (cText(text), Int(UInt16(bigEndian: sin.pointee.sin_port)))
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &copy) { pointer in
                pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    var addr = sin6.pointee.sin6_addr
                    guard inet_ntop(AF_INET6, &addr, &text, socklen_t(text.count)) != nil else { return nil }
                    return (cText(text), Int(UInt16(bigEndian: sin6.pointee.sin6_port)))
                }
            }
        default:
            return nil
        }
    }

    private static func cText(_ chars: [CChar]) -> String {
        String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `127.0.0.1:5555`, `[::1]:5555`, or `unix`.
    static func peerDescription(_ storage: sockaddr_storage) -> String {
        guard let (host, port) = hostAndPort(storage) else { return "unix" }
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
