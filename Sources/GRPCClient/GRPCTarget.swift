import FoundationEssentials
import Glibc

/// The server a client talks to: `https://host[:port]` (HTTP/2 over TLS), or `http://host[:port]`
/// (HTTP/2 cleartext with prior knowledge), which is refused unless the host is loopback:
/// cleartext would expose credentials in metadata to the network.
struct GRPCTarget: Sendable {
    /// Scheme, host and port, without a trailing slash: request URLs are this plus the method path.
    let origin: String
    let isTLS: Bool

    init(_ url: String) throws(GRPCStatus) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let rawHost = components.host, !rawHost.isEmpty else {
            throw GRPCStatus(code: .invalidArgument, message: "The gRPC server address is not an absolute http:// or https:// URL with a host.")
        }
        guard components.user == nil, components.password == nil else {
            throw GRPCStatus(code: .invalidArgument, message: "The gRPC server address must not carry a user name or password; send credentials as metadata.")
        }
        guard components.query == nil, components.fragment == nil, components.path.isEmpty || components.path == "/" else {
            throw GRPCStatus(code: .invalidArgument, message: "The gRPC server address must be scheme, host and port only, without a path, query or fragment.")
        }
        let host = rawHost.hasPrefix("[") && rawHost.hasSuffix("]") ? String(rawHost.dropFirst().dropLast()) : rawHost
        let shownHost = host.contains(":") ? "[\(host)]" : host
        let origin = "\(scheme)://\(shownHost)" + (components.port.map { ":\($0)" } ?? "")
        if scheme == "http" && !Self.isLoopback(host) {
            throw GRPCStatus(code: .invalidArgument, message: "Plaintext gRPC (http://) is allowed only to a loopback host, not to \(origin); use https://.")
        }
        self.origin = origin
        self.isTLS = scheme == "https"
    }

    /// `localhost`, 127.0.0.0/8, `::1` and IPv4-mapped 127.x (curl resolves `localhost` itself,
    /// always to loopback).
    static func isLoopback(_ host: String) -> Bool {
        if host.lowercased() == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, host, &v6) == 1 else { return false }
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }
        return bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF && bytes[12] == 127
    }
}
