import FoundationEssentials
import Glibc

extension HTTPRequestParser {
    /// Parses a request line and header fields (CRLF-separated, without the final blank line) and
    /// decides the body framing. Returns the request (empty body), its Content-Length, and whether
    /// the client expects `100 Continue`.
    static func parseHead(_ head: [UInt8], maxBodyBytes: Int)
        -> Result<(HTTPRequest, Int, Bool), HTTPProtocolError> {
        // Bare LFs were refused while scanning, so every line ends in CR LF; a CR left inside is bare.
        // `head.split(separator: 10, omittingEmptySubsequences: false)`, each line without its CR, in
        // one pass (the generic split calls a closure per byte: 4% of a cached GET's instructions).
        var lines: [ArraySlice<UInt8>] = []
        lines.reserveCapacity(16)
        var lineStart = head.startIndex
        func add(_ line: ArraySlice<UInt8>) { lines.append(line.last == 13 ? line.dropLast() : line) }
        for index in head.indices where head[index] == 10 {
            add(head[lineStart..<index])
            lineStart = index + 1
        }
        add(head[lineStart..<head.endIndex])
        guard let requestLine = lines.first, !requestLine.isEmpty else {
            return .failure(.badRequest("The request line is empty."))
        }
        let parts = requestLine.split(separator: 32, omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            return .failure(.badRequest("The request line must be `METHOD target HTTP/1.1`, separated by single spaces."))
        }
        let methodBytes = parts[0], targetBytes = parts[1], versionBytes = parts[2]
        guard !methodBytes.isEmpty, methodBytes.allSatisfy(isTokenByte) else {
            return .failure(.badRequest("The request method is not a valid token."))
        }
        let method = String(decoding: methodBytes, as: UTF8.self)
        let version: String
        switch parseVersion(Array(versionBytes)) {
        case .failure(let error): return .failure(error)
        case .success(let v): version = v
        }
        guard !targetBytes.isEmpty else { return .failure(.badRequest("The request-target is empty.")) }
        let target: RequestTarget
        switch RequestTarget.parse(Array(targetBytes), method: method) {
        case .failure(let error): return .failure(error)
        case .success(let t): target = t
        }

        var headers = HTTPHeaders()
        for line in lines.dropFirst() {
            switch parseField(line) {
            case .failure(let error): return .failure(error)
            case .success(let (name, value)): headers.add(name, value)
            }
        }

        let hosts = headers.values("Host").count
        if hosts > 1 || (hosts == 0 && version == "HTTP/1.1") {
            return .failure(.badRequest("An HTTP/1.1 request must carry exactly one Host header."))
        }
        if headers.contains("Transfer-Encoding") { return .failure(.lengthRequired) }
        var length = 0
        let lengths = headers.values("Content-Length")
        if lengths.count > 1 {
            return .failure(.badRequest("The request carries more than one Content-Length header."))
        }
        if let text = lengths.first {
            guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
                return .failure(.badRequest("The Content-Length header is not a decimal number."))
            }
            guard text.utf8.count <= 18, let value = Int(text) else {
                return .failure(.bodyTooLarge(length: Int.max, limit: maxBodyBytes))
            }
            guard value <= maxBodyBytes else { return .failure(.bodyTooLarge(length: value, limit: maxBodyBytes)) }
            length = value
        }
        let expectContinue = headers["Expect"].map { HTTPHeaders.sameName(trimOWS($0), "100-continue") } ?? false

        let request = HTTPRequest(method: method, target: String(decoding: targetBytes, as: UTF8.self),
                                  version: version, headers: headers, parts: target)
        return .success((request, length, expectContinue))
    }

    /// `HTTP/1.1` or `HTTP/1.0`; another well-formed `HTTP/x.y` is a 505, anything else a 400.
    private static func parseVersion(_ bytes: [UInt8]) -> Result<String, HTTPProtocolError> {
        guard bytes.count == 8, bytes[0..<5].elementsEqual("HTTP/".utf8), bytes[6] == UInt8(ascii: "."),
              (48...57).contains(bytes[5]), (48...57).contains(bytes[7]) else {
            return .failure(.badRequest("The request line does not end with a valid HTTP version."))
        }
        guard bytes[5] == UInt8(ascii: "1"), bytes[7] == UInt8(ascii: "0") || bytes[7] == UInt8(ascii: "1") else {
            return .failure(.versionNotSupported)
        }
        return .success(String(decoding: bytes, as: UTF8.self))
    }

    /// One `name: value` field; obs-fold, whitespace before the colon and control bytes are refused.
    private static func parseField(_ line: ArraySlice<UInt8>) -> Result<(String, String), HTTPProtocolError> {
        guard let first = line.first else { return .failure(.badRequest("The headers contain an empty line.")) }
        if first == 32 || first == 9 {
            return .failure(.badRequest("Header line folding (obs-fold) is not supported."))
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
            return .failure(.badRequest("A header line has no colon."))
        }
        let name = line[line.startIndex..<colon]
        guard !name.isEmpty, name.allSatisfy(isTokenByte) else {
            return .failure(.badRequest("A header name is empty or not a valid token."))
        }
        var value = line[(colon + 1)...]
        while let f = value.first, f == 32 || f == 9 { value = value.dropFirst() }
        while let l = value.last, l == 32 || l == 9 { value = value.dropLast() }
        for byte in value where byte != 9 && (byte < 32 || byte == 127) {
            return .failure(.badRequest("A header value contains a control byte (0x\(hex(byte)))."))
        }
        return .success((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
    }

    /// RFC 9110 `tchar`: the bytes allowed in methods and header names.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}
