/// Checks request metadata before it becomes HTTP/2 headers.
enum GRPCMetadata {
    /// Headers the client sets itself, and HTTP/1 connection headers HTTP/2 forbids.
    static let reserved: Set<String> = [
        "content-type", "te", "user-agent", "host", "connection", "keep-alive", "proxy-connection",
        "transfer-encoding", "upgrade", "expect", "accept", "accept-encoding", "content-length",
    ]

    /// Header lines for curl (`name: value`, or `name;` for an empty value, curl's spelling),
    /// names lower-cased. Errors name the offending header, never its value.
    static func headerLines(_ metadata: [(name: String, value: String)]) throws(GRPCStatus) -> [String] {
        var lines: [String] = []
        for (rawName, value) in metadata {
            let name = rawName.lowercased()
            let nameOK = !name.isEmpty && name.utf8.allSatisfy { byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
            }
            guard nameOK else {
                throw GRPCStatus(code: .invalidArgument, message: "A metadata name is not a lower-case token of letters, digits, '-', '_' and '.'.")
            }
            guard !name.hasPrefix("grpc-"), !reserved.contains(name) else {
                throw GRPCStatus(code: .invalidArgument, message: "The metadata name '\(name)' is reserved for the gRPC client itself.")
            }
            guard value.utf8.allSatisfy({ $0 >= 0x20 && $0 <= 0x7E }) else {
                throw GRPCStatus(code: .invalidArgument, message: "The metadata value of '\(name)' contains a character outside printable ASCII.")
            }
            lines.append(value.isEmpty ? "\(name);" : "\(name): \(value)")
        }
        return lines
    }

    /// A method path: `/package.Service/Method`, printable, without spaces, query or fragment.
    static func checkPath(_ path: String) throws(GRPCStatus) {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].isEmpty, !parts[1].isEmpty, !parts[2].isEmpty,
              path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") && $0 != UInt8(ascii: "%") }) else {
            throw GRPCStatus(code: .invalidArgument, message: "The gRPC method path must look like /package.Service/Method.")
        }
    }
}
