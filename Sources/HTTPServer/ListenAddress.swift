/// Where the server listens: a TCP host and port, or a unix socket path.
public enum ListenAddress: Sendable, Equatable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case unix(path: String)

    /// Parses `127.0.0.1:8080`, `[::1]:8080`, `localhost:0`, `0.0.0.0:80` or `unix:/path/to/sock`.
    public static func parse(_ text: String) throws(HTTPServerError) -> ListenAddress {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard path.hasPrefix("/") else {
                throw HTTPServerError(.invalidAddress, "The unix socket path in `\(text)` must be absolute.")
            }
            guard path.utf8.count < 108, !path.utf8.contains(0) else {
                throw HTTPServerError(.invalidAddress, "The unix socket path in `\(text)` is longer than 107 bytes.")
            }
            return .unix(path: path)
        }
        let host: Substring, portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw HTTPServerError(.invalidAddress, "The address `\(text)` must look like `[::1]:8080`.")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else {
                throw HTTPServerError(.invalidAddress,
                                      "The address `\(text)` must be HOST:PORT, [IPv6]:PORT or unix:/PATH.")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty else { throw HTTPServerError(.invalidAddress, "The address `\(text)` has no host.") }
        guard !portText.isEmpty, portText.allSatisfy(\.isASCII), portText.allSatisfy(\.isNumber),
              portText.count <= 5, let port = Int(portText), port <= 65535 else {
            throw HTTPServerError(.invalidAddress, "The port in `\(text)` must be a number from 0 to 65535.")
        }
        return .tcp(host: String(host), port: port)
    }

    /// Whether only this machine can connect: a loopback host (127.0.0.0/8, ::1, localhost) or a unix socket.
    public var isLoopback: Bool {
        switch self {
        case .unix: return true
        case .tcp(let host, _):
            let h = host.lowercased()
            return h == "localhost" || h == "::1" || h.hasPrefix("127.") || h == "0:0:0:0:0:0:0:1"
        }
    }

    public var description: String {
        switch self {
        case .unix(let path): return "unix:\(path)"
        case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }
}
