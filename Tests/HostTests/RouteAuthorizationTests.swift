import Foundation
import Testing
@testable import Basics
@testable import HTTPServer
@testable import PluginProtocol
@testable import Core
@testable import Config
@testable import Store
@testable import Lifecycle
@testable import API

/// Every route, enumerated from `APIRoute.all`: its declaration is consistent, and the router enforces
/// it before any handler runs. A new route is covered without touching this file.
@Suite struct RouteAuthorizationTests {
    typealias Fixture = APITests.Fixture

    /// Consumer A's and consumer B's sandbox and snapshot, made through the API.
    struct World {
        let x: Fixture
        let sandboxA: String, snapshotA: String
        let sandboxB: String, snapshotB: String

        init() throws {
            let x = try Fixture(tokens: true)
            func make(_ token: String, _ name: String) throws -> (String, String) {
                let id = try #require(x.send("POST", "/v1/sandboxes", body: "{}", token: token).json["id"]?.stringValue)
                let snap = x.send("POST", "/v1/sandboxes/\(id)/snapshots", body: "{\"name\":\"\(name)\"}", token: token)
                return (id, try #require(snap.json["id"]?.stringValue))
            }
            let a = try make(APITests.consumerA, "snap-of-a"), b = try make(APITests.consumerB, "snap-of-b")
            self.x = x
            sandboxA = a.0; snapshotA = a.1
            sandboxB = b.0; snapshotB = b.1
        }

        /// The route's path with `{id}` naming `sandbox` or `snapshot` as the route takes, and its
        /// query parameter naming `sandbox` for a route that takes one there.
        func target(_ route: APIRoute, sandbox: String, snapshot: String) -> String {
            switch route.handler {
            case .sandbox: return route.pattern.replacingOccurrences(of: "{id}", with: sandbox)
            case .snapshot: return route.pattern.replacingOccurrences(of: "{id}", with: snapshot)
            case .sandboxInQuery(let name, _): return route.pattern + "?\(name)=\(sandbox)"
            case .plain: return route.pattern
            case .image: return route.pattern.replacingOccurrences(of: "{id}", with: "img-0000000000000000")
            }
        }
    }

    @Test func everyRouteDeclaresWhatItTakesConsistentlyWithItsPattern() {
        #expect(!APIRoute.all.isEmpty)
        for route in APIRoute.all {
            let parameters = route.segments.filter { $0.hasPrefix("{") }
            // The only path parameter is `{id}`, and exactly the routes whose handler takes it have it:
            // a `.plain` handler is never given a path id, so it cannot act on one unchecked.
            #expect(parameters == (route.handler.takesPathID ? ["{id}"] : []), "\(route.method) \(route.pattern)")
            if route.access == .unauthenticated {
                guard case .plain = route.handler else {
                    Issue.record("\(route.pattern) takes a sandbox or snapshot without a token"); continue
                }
            }
        }
        let signatures = APIRoute.all.map { "\($0.method) \($0.pattern)" }
        #expect(Set(signatures).count == signatures.count, "a route is declared twice")
    }

    @Test func aConsumerGets404ForAnotherConsumersSandboxOrSnapshotOnEveryRouteThatTakesOne() throws {
        let w = try World()
        let before = w.x.send("GET", "/v1/sandboxes/\(w.sandboxB)", token: APITests.consumerB).json
        var checked = 0
        for route in APIRoute.all {
            if case .plain = route.handler { continue }
            guard route.access == .anyToken else { continue }
            // Any body: authorization runs before the handler reads it, so no body error can leak existence.
            for body in [nil, "{}", #"{"argv":["true"],"duration":"1h"}"#, "{not json"] as [String?] {
                let target = w.target(route, sandbox: w.sandboxB, snapshot: w.snapshotB)
                let r = w.x.send(route.method, target, body: body, token: APITests.consumerA)
                #expect(r.status == 404, "\(route.method) \(target) as A → \(r.status)")
            }
            // The snapshot's name is as private as its id.
            if case .snapshot = route.handler {
                let byName = route.pattern.replacingOccurrences(of: "{id}", with: "snap-of-b")
                #expect(w.x.send(route.method, byName, token: APITests.consumerA).status == 404, "\(route.method) \(byName)")
            }
            checked += 1
        }
        #expect(checked >= 10)
        // Nothing happened to B's sandbox or snapshot (not destroyed, extended, recreated or deleted).
        #expect(w.x.send("GET", "/v1/sandboxes/\(w.sandboxB)", token: APITests.consumerB).json == before)
        #expect(w.x.send("GET", "/v1/snapshots/\(w.snapshotB)", token: APITests.consumerB).json["state"] == "ready")
        #expect(w.x.send("GET", "/v1/sandboxes/\(w.sandboxB)/snapshots", token: APITests.consumerB)
            .json["snapshots"]?.arrayValue?.count == 1)
    }

    @Test func theOwnerIsLetThroughOnEveryRouteThatTakesASandboxOrSnapshot() throws {
        let w = try World()
        // Destructive routes last, so each route finds the sandbox and snapshot still there.
        let routes = APIRoute.all.filter { route in
            if case .plain = route.handler { return false }
            return route.access == .anyToken
        }.sorted { ($0.method == "DELETE" ? 1 : 0) < ($1.method == "DELETE" ? 1 : 0) }
        for route in routes {
            let target = w.target(route, sandbox: w.sandboxA, snapshot: w.snapshotA)
            let status = w.x.send(route.method, target, body: "{}", token: APITests.consumerA).status
            #expect(![401, 403, 404].contains(status), "\(route.method) \(target) as its owner → \(status)")
        }
    }

    @Test func aConsumerGets403OnEveryOperatorRouteAndTheOperatorGetsThrough() throws {
        let w = try World()
        let operatorRoutes = APIRoute.all.filter { $0.access == .operatorOnly }
        #expect(Set(operatorRoutes.map(\.pattern)).isSuperset(of: ["/metrics", "/v1/sandboxes/expire", "/v1/reap-stale",
                                                                   "/v1/snapshots/prune", "/v1/events/failed"]))
        for route in operatorRoutes {
            let target = w.target(route, sandbox: w.sandboxB, snapshot: w.snapshotB)
            #expect(w.x.send(route.method, target, token: APITests.consumerA).status == 403, "\(route.method) \(target)")
            let status = w.x.send(route.method, target, token: APITests.operatorToken).status
            // This world has no image nor a profile with a build: past authorization, the image routes answer 404/422.
            #expect(route.pattern.hasPrefix("/v1/images") ? ![401, 403].contains(status) : status == 200, "\(route.method) \(target)")
        }
    }

    @Test func everyRouteButTheUnauthenticatedOnesNeedsAToken() throws {
        let w = try World()
        for route in APIRoute.all {
            let target = w.target(route, sandbox: w.sandboxA, snapshot: w.snapshotA)
            let anonymous = w.x.send(route.method, target)
            if route.access == .unauthenticated {
                #expect(anonymous.status == 200, "\(route.method) \(target)")
            } else {
                #expect(anonymous.status == 401, "\(route.method) \(target)")
                #expect(w.x.send(route.method, target, token: "not-a-token").status == 401, "\(route.method) \(target)")
            }
        }
    }
}
