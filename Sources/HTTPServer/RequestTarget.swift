/// The request-target split into path and query and percent-decoded, with the checks that make a
/// target safe to route: origin-form only, valid escapes, no NUL, no dot segments, valid UTF-8.
struct RequestTarget: Equatable {
    var path: String
    var rawPath: String
    var query: [String: [String]]

    /// Parses an origin-form target (`/a/b?x=1`), or `*` for OPTIONS.
    static func parse(_ target: [UInt8], method: String) -> Result<RequestTarget, HTTPProtocolError> {
        if target == [UInt8(ascii: "*")] {
            guard method == "OPTIONS" else {
                return .failure(.badRequest("The request-target `*` is only allowed with OPTIONS."))
            }
            return .success(RequestTarget(path: "*", rawPath: "*", query: [:]))
        }
        guard target.first == UInt8(ascii: "/") else {
            return .failure(.badRequest("The request-target must be a path starting with `/` (origin-form)."))
        }
        for byte in target where byte <= 0x20 || byte >= 0x7F || byte == UInt8(ascii: "#") {
            return .failure(.badRequest("The request-target contains a byte that is not allowed (0x\(hex(byte)))."))
        }
        let question = target.firstIndex(of: UInt8(ascii: "?"))
        let rawPathBytes = Array(target[..<(question ?? target.endIndex)])
        let rawQuery = question.map { Array(target[($0 + 1)...]) } ?? []

        let decoded: [UInt8]
        switch percentDecode(rawPathBytes, plusIsSpace: false) {
        case .success(let bytes): decoded = bytes
        case .failure(let error): return .failure(error)
        }
        guard let path = String(validating: decoded, as: UTF8.self) else {
            return .failure(.badRequest("The decoded path is not valid UTF-8."))
        }
        // Dot segments are refused, raw or encoded (`%2E%2E`, or `..` hidden behind `%2F`): routers
        // never see a path that means something different after normalisation.
        if hasDotSegment(decoded: decoded, path: path) {
            return .failure(.badRequest("The path contains a `.` or `..` segment."))
        }
        switch parseQuery(rawQuery) {
        case .success(let query):
            return .success(RequestTarget(path: path, rawPath: String(decoding: rawPathBytes, as: UTF8.self), query: query))
        case .failure(let error):
            return .failure(error)
        }
    }

    /// Whether `path` (whose UTF-8 is `decoded`) has a `.` or `..` segment, split on "/" by Character.
    /// An ASCII path is checked on its bytes (there a byte is a Character; splitting by Character was
    /// a visible share of every request); any other path by Character, where a "/" followed by a
    /// combining mark is no separator.
    static func hasDotSegment(decoded: [UInt8], path: String) -> Bool {
        guard decoded.allSatisfy({ $0 < 0x80 }) else {
            return path.split(separator: "/", omittingEmptySubsequences: false).contains { $0 == ".." || $0 == "." }
        }
        let dot = UInt8(ascii: "."), slash = UInt8(ascii: "/")
        var length = 0, dotsOnly = true
        for byte in decoded {
            if byte == slash {
                if dotsOnly, length == 1 || length == 2 { return true }
                length = 0
                dotsOnly = true
            } else {
                length += 1
                if byte != dot { dotsOnly = false }
            }
        }
        return dotsOnly && (length == 1 || length == 2)
    }

    /// Parses `a=1&b=2&a=3` (form-style: `+` is a space); a key without `=` gets an empty value.
    static func parseQuery(_ raw: [UInt8]) -> Result<[String: [String]], HTTPProtocolError> {
        var query: [String: [String]] = [:]
        for pair in raw.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let equals = pair.firstIndex(of: UInt8(ascii: "="))
            let rawKey = Array(pair[..<(equals ?? pair.endIndex)])
            let rawValue = equals.map { Array(pair[($0 + 1)...]) } ?? []
            guard case .success(let key) = percentDecode(rawKey, plusIsSpace: true),
                  case .success(let value) = percentDecode(rawValue, plusIsSpace: true) else {
                return .failure(.badRequest("The query string contains an invalid or NUL percent-escape."))
            }
            guard let k = String(validating: key, as: UTF8.self), let v = String(validating: value, as: UTF8.self) else {
                return .failure(.badRequest("The query string is not valid UTF-8 after decoding."))
            }
            query[k, default: []].append(v)
        }
        return .success(query)
    }

    /// Decodes `%XX` escapes; a truncated or non-hex escape, or one that decodes to NUL, is an error.
    static func percentDecode(_ bytes: [UInt8], plusIsSpace: Bool) -> Result<[UInt8], HTTPProtocolError> {
        guard bytes.contains(UInt8(ascii: "%")) || (plusIsSpace && bytes.contains(UInt8(ascii: "+"))) else {
            return .success(bytes)
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "%") {
                guard i + 2 < bytes.count, let high = hexValue(bytes[i + 1]), let low = hexValue(bytes[i + 2]) else {
                    return .failure(.badRequest("The request-target contains an invalid percent-escape."))
                }
                let value = high << 4 | low
                guard value != 0 else {
                    return .failure(.badRequest("The request-target contains an encoded NUL byte (%00)."))
                }
                out.append(value)
                i += 3
            } else {
                out.append(plusIsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
                i += 1
            }
        }
        return .success(out)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// Two hex digits for a byte, for messages.
func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
}
