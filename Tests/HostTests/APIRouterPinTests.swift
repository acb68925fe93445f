import Foundation
import Testing
@testable import HTTPServer
@testable import API

/// Pins what the router answers on every route, so its matching can be made cheaper without
/// changing a single answer: `APIRoute.resolve` must agree with `reference` (the matcher as it was
/// before session 6's rewrite, kept here verbatim in behaviour) for every method on a corpus built
/// from every route pattern, and a few answers are spelled out by hand besides.
@Suite struct APIRouterPinTests {
    /// An answer as a comparable text: the route and its parameters, or the error with its headers.
    static func describe(_ result: Result<(APIRoute, [String: String]), APIError>) -> String {
        switch result {
        case .success(let (route, params)):
            let p = params.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            return "route \(route.method) \(route.pattern) [\(p)]"
        case .failure(let error):
            let h = error.headers.map { "\($0.0): \($0.1)" }.joined(separator: "; ")
            return "error \(error.status) \(error.code) \(error.message) {\(h)}"
        }
    }

    /// The matcher before session 6: every route matched with a dictionary of parameters, the
    /// candidates sorted by parameter count, the first whose method fits wins, else 405 or 404.
    static func reference(method: String, path: String) -> Result<(APIRoute, [String: String]), APIError> {
        func match(_ route: APIRoute, _ parts: ArraySlice<Substring>) -> [String: String]? {
            let pat = route.pattern.split(separator: "/")
            guard parts.count == pat.count else { return nil }
            var params: [String: String] = [:]
            for (p, s) in zip(pat, parts) {
                if p.hasPrefix("{") { guard !s.isEmpty else { return nil }; params[String(p.dropFirst().dropLast())] = String(s) }
                else if p != s { return nil }
            }
            return params
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        let candidates = APIRoute.all.compactMap { r in match(r, parts).map { (r, $0) } }
            .sorted { a, b in a.1.count < b.1.count }
        guard !candidates.isEmpty else { return .failure(.notFound("No route for \(path).")) }
        if let hit = candidates.first(where: { $0.0.method == method || (method == "HEAD" && $0.0.method == "GET") }) {
            return .success(hit)
        }
        let allowed = Array(Set(candidates.map(\.0.method))).sorted()
        var error = APIError(405, "method_not_allowed", "\(method) is not allowed on \(path) (allowed: \(allowed.joined(separator: ", "))).")
        error.headers = [("Allow", allowed.joined(separator: ", "))]
        return .failure(error)
    }

    static let methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "get", "TRACE"]

    /// Paths from every pattern with several ids (the literal words of other routes among them),
    /// with trailing slashes, doubled slashes, an extra or a missing segment, and a few strays.
    static var corpus: [String] {
        let ids = ["sbx-1", "expire", "snapshots", "exec", "a b", "ü", "x.y", "{id}", "%2F", "\u{301}", "x\r\n", "\u{301}x/\u{301}exec"]
        var paths: Set<String> = ["/", "", "//", "/v1", "/v1/", "/v2/sandboxes", "/healthz/", "/HEALTHZ",
                                  "/v1/sandboxes//exec", "/v1/sandboxes/", "/v1//sandboxes", "/metrics/x",
                                  "/v1/sandboxes/a/b", "/v1/images/", "/v1/events/failed/", "*", "v1/sandboxes/x",
                                  "/v1/sandboxes/x/\u{301}exec", "/v1/sandboxes\u{301}/x", "/\u{212A}"]
        for route in APIRoute.all {
            let withIDs = route.pattern.contains("{id}") ? ids.map { route.pattern.replacingOccurrences(of: "{id}", with: $0) } : [route.pattern]
            for p in withIDs {
                paths.formUnion([p, p + "/", p + "/x", p + "//", "/" + p, String(p.dropLast())])
                if let slash = p.lastIndex(of: "/") { paths.insert(String(p[..<slash])) }
            }
        }
        return paths.sorted()
    }

    @Test func agreesWithTheReferenceOnEveryRouteAndMethod() {
        var checked = 0
        for path in Self.corpus {
            for method in Self.methods {
                #expect(Self.describe(APIRoute.resolve(method: method, path: path))
                        == Self.describe(Self.reference(method: method, path: path)), "\(method) \(path)")
                checked += 1
            }
        }
        #expect(checked > 1000)
    }

    @Test func answersSpelledOut() {
        func d(_ m: String, _ p: String) -> String { Self.describe(APIRoute.resolve(method: m, path: p)) }
        #expect(d("GET", "/v1/sandboxes/sbx-1") == "route GET /v1/sandboxes/{id} [id=sbx-1]")
        #expect(d("HEAD", "/v1/sandboxes/sbx-1") == "route GET /v1/sandboxes/{id} [id=sbx-1]")
        // A literal route wins over a parameter one, but only for its own method.
        #expect(d("POST", "/v1/sandboxes/expire") == "route POST /v1/sandboxes/expire []")
        #expect(d("GET", "/v1/sandboxes/expire") == "route GET /v1/sandboxes/{id} [id=expire]")
        #expect(d("GET", "/v1/events/failed") == "route GET /v1/events/failed []")
        #expect(d("POST", "/v1/sandboxes/s/exec") == "route POST /v1/sandboxes/{id}/exec [id=s]")
        #expect(d("GET", "/v1/snapshots/snap") == "route GET /v1/snapshots/{id} [id=snap]")
        #expect(d("DELETE", "/v1/images/img") == "route DELETE /v1/images/{id} [id=img]")
        // Trailing slashes, empty ids and unknown paths are 404.
        #expect(d("GET", "/v1/sandboxes/") == "error 404 not_found No route for /v1/sandboxes/. {}")
        #expect(d("GET", "/v1/sandboxes/sbx-1/") == "error 404 not_found No route for /v1/sandboxes/sbx-1/. {}")
        #expect(d("POST", "/v1/sandboxes//exec") == "error 404 not_found No route for /v1/sandboxes//exec. {}")
        #expect(d("GET", "/nope") == "error 404 not_found No route for /nope. {}")
        // 405 names every method the path allows, sorted, in the message and in Allow.
        #expect(d("DELETE", "/v1/sandboxes")
                == "error 405 method_not_allowed DELETE is not allowed on /v1/sandboxes (allowed: GET, POST). {Allow: GET, POST}")
        #expect(d("PUT", "/v1/sandboxes/sbx-1")
                == "error 405 method_not_allowed PUT is not allowed on /v1/sandboxes/sbx-1 (allowed: DELETE, GET). {Allow: DELETE, GET}")
        #expect(d("GET", "/v1/sandboxes/expire/x") == "error 404 not_found No route for /v1/sandboxes/expire/x. {}")
        #expect(d("get", "/healthz") == "error 405 method_not_allowed get is not allowed on /healthz (allowed: GET). {Allow: GET}")
    }

    /// The router sees the percent-decoded path: an escaped id reaches the handler decoded, and an
    /// escaped `/` splits the path like a raw one.
    @Test func decodedPaths() {
        func d(_ m: String, _ target: String) -> String {
            let request = HTTPRequest(method: m, target: target)
            return Self.describe(APIRoute.resolve(method: request.method, path: request.path))
        }
        #expect(d("GET", "/v1/sandboxes/a%20b") == "route GET /v1/sandboxes/{id} [id=a b]")
        #expect(d("GET", "/v1/sandboxes/sbx-1?x=1") == "route GET /v1/sandboxes/{id} [id=sbx-1]")
        #expect(d("GET", "/v1/sandboxes/a%2Fexplain") == "route GET /v1/sandboxes/{id}/explain [id=a]")
        #expect(d("GET", "/v1/sandboxes/a%2Fb") == "error 404 not_found No route for /v1/sandboxes/a/b. {}")
        #expect(d("GET", "/v1/%73andboxes/x") == "route GET /v1/sandboxes/{id} [id=x]")
    }
}
