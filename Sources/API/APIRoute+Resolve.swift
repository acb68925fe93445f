import HTTPServer
import Core

extension APIRoute {
    /// `all` in the order the router tries them: literal routes before parameter routes
    /// (`/v1/sandboxes/expire` is not an id), table order kept among routes with as many parameters.
    static let byPrecedence: [APIRoute] = all.enumerated()
        .sorted { ($0.element.parameterCount, $0.offset) < ($1.element.parameterCount, $1.offset) }
        .map(\.element)

    /// Whether a path already split on "/" (without the empty first part) matches this pattern: the
    /// test of `match(parts:)` without building its parameters (route matching runs on every
    /// request, and only the winner's parameters are wanted).
    func matches(parts: ArraySlice<Substring>) -> Bool {
        guard parts.count == segments.count else { return false }
        var index = parts.startIndex
        for pattern in segments {
            let part = parts[index]
            index += 1
            if pattern.first == "{" {
                if part.isEmpty { return false }
            } else if pattern != part {
                return false
            }
        }
        return true
    }

    /// The route for `method` and `path`, or the error to answer (404, or 405 with `Allow`).
    ///
    /// The first route in `byPrecedence` that matches the path and takes the method (a GET route
    /// also takes HEAD) wins; a path some route matches with another method is a 405 naming them
    /// all, any other path a 404. Parameters are built for the winner only (this used to build a
    /// dictionary for every candidate and sort them per request, splitting the path by Character:
    /// 38% of serve's instructions on a cached GET, docs/performance.md "HTTP GET path (session 6)").
    static func resolve(method: String, path: String) -> Result<(APIRoute, [String: String]), APIError> {
        let winner = path.utf8.withContiguousStorageIfAvailable { bytes -> (APIRoute, [String: String])?? in
            // Bytes are Characters only in ASCII (a "/" followed by a combining mark is one Character,
            // not a separator): any other path takes the Character walk below, as it always did.
            guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
            return .some(resolveASCII(method: method, path: bytes))
        }
        switch winner {
        case .some(.some(.some(let hit))): return .success(hit)
        case .some(.some(.none)): return failure(method: method, path: path, parts: path.split(separator: "/", omittingEmptySubsequences: false).dropFirst())
        default: return resolveByCharacter(method: method, path: path)
        }
    }

    /// `resolve` for an ASCII path, on its bytes: the winner, or nil when no route takes the method.
    private static func resolveASCII(method: String, path: UnsafeBufferPointer<UInt8>) -> (APIRoute, [String: String])? {
        // Split on "/" with empty parts kept, then the first part dropped: `split(separator: "/",
        // omittingEmptySubsequences: false).dropFirst()`, as byte ranges.
        var pieces: [Range<Int>] = []
        pieces.reserveCapacity(8)
        var start = 0
        for i in 0..<path.count where path[i] == UInt8(ascii: "/") {
            pieces.append(start..<i)
            start = i + 1
        }
        pieces.append(start..<path.count)
        let parts = pieces.dropFirst()
        let isHead = method == "HEAD"
        for route in byPrecedence where route.method == method || (isHead && route.method == "GET") {
            guard route.segmentBytes.count == parts.count else { continue }
            var params: [String: String]? = [:]
            for (index, pattern) in route.segmentBytes.enumerated() {
                let part = parts[parts.startIndex + index]
                if let name = route.parameterNames[index] {
                    guard !part.isEmpty else { params = nil; break }
                    params?[name] = String(decoding: UnsafeBufferPointer(rebasing: path[part]), as: UTF8.self)
                } else if !pattern.elementsEqual(path[part]) {
                    params = nil
                    break
                }
            }
            if let params { return (route, params) }
        }
        return nil
    }

    /// `resolve` by Character, for paths that are not ASCII.
    private static func resolveByCharacter(method: String, path: String) -> Result<(APIRoute, [String: String]), APIError> {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        for route in byPrecedence where route.matches(parts: parts) {
            if route.method == method || (method == "HEAD" && route.method == "GET") {
                return .success((route, route.match(parts: parts) ?? [:]))
            }
        }
        return failure(method: method, path: path, parts: parts)
    }

    /// The answer when no route takes `method` on `path`: a 405 naming the methods some route
    /// matching the path takes, or a 404 when none matches.
    private static func failure(method: String, path: String, parts: ArraySlice<Substring>) -> Result<(APIRoute, [String: String]), APIError> {
        let allowed = Array(Set(byPrecedence.filter { $0.matches(parts: parts) }.map(\.method))).sorted()
        guard !allowed.isEmpty else { return .failure(.notFound("No route for \(path).")) }
        var error = APIError(405, "method_not_allowed", "\(method) is not allowed on \(path) (allowed: \(allowed.joined(separator: ", "))).")
        error.headers = [("Allow", allowed.joined(separator: ", "))]
        return .failure(error)
    }
}
