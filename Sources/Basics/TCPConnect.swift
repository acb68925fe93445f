import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// An outgoing TCP connection with a deadline: `connect(2)` on a non-blocking socket, then `poll`.
/// Used by reachability probes and port forwarding; the descriptor it returns is blocking again.
public enum TCPConnect {
    /// Why a connection was not made, as one sentence.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        /// True when the deadline passed (rather than a refusal or a resolution failure).
        public var timedOut: Bool
        public var description: String { message }
    }

    /// Connects to `host`:`port` (a name, an IPv4 or an IPv6 address) trying each address in turn
    /// until one answers or `timeout` seconds have passed. The caller owns (and closes) the descriptor.
    public static func connect(host: String, port: Int, timeout: Double) -> Result<Int32, Failure> {
        let target = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        guard (1...65535).contains(port) else { return .failure(Failure(message: "The port \(port) is outside 1–65535.", timedOut: false)) }
        let deadline = Date().addingTimeInterval(timeout)
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let status = getaddrinfo(bare, String(port), &hints, &list)
        guard status == 0, let first = list else {
            return .failure(Failure(message: "Cannot resolve \(host): \(String(cString: gai_strerror(status))).", timedOut: false))
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var timedOut = false
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        addresses: while let info = cursor {
            cursor = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { lastError = String(cString: strerror(errno)); continue }
            switch finishConnect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen, deadline: deadline) {
            case nil:
                let flags = fcntl(fd, F_GETFL)
                _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
                return .success(fd)
            case let (message, expired)?:
                close(fd)
                lastError = message
                timedOut = expired
                if expired { break addresses }  // the deadline covers every address
            }
        }
        let what = timedOut ? "did not answer within \(String(cFormat: "%g", timeout)) s" : "refused the connection (\(lastError))"
        return .failure(Failure(message: "\(target) \(what).", timedOut: timedOut))
    }

    /// nil once connected; else the reason and whether the deadline passed.
    private static func finishConnect(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: socklen_t,
                                      deadline: Date) -> (String, Bool)? {
        var result: Int32
        repeat { result = Glibc.connect(fd, address, length) } while result != 0 && errno == EINTR
        if result == 0 { return nil }
        guard errno == EINPROGRESS else { return (String(cString: strerror(errno)), false) }
        while true {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { return ("timed out", true) }
            var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let n = poll(&entry, 1, Int32(min(remaining * 1000, Double(Int32.max)).rounded(.up)))
            if n < 0 && errno == EINTR { continue }
            if n == 0 { return ("timed out", true) }
            var error: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size)
            return error == 0 ? nil : (String(cString: strerror(error)), false)
        }
    }
}
