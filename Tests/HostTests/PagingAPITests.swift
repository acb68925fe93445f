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

/// `limit` and `cursor` on the listing routes, through the API (responses checked against the document).
@Suite struct PagingAPITests {
    typealias Fixture = APITests.Fixture

    /// Follows `next_cursor` from `target` until the last page; returns each page's ids.
    func pages(_ x: Fixture, _ target: String, key: String, token: String) throws -> [[String]] {
        var result: [[String]] = []
        var cursor: String? = nil
        repeat {
            let separator = target.contains("?") ? "&" : "?"
            let r = x.send("GET", target + (cursor.map { "\(separator)cursor=\($0)" } ?? ""), token: token)
            try #require(r.status == 200, "\(target): \(r.json)")
            result.append(r.json[key]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? [])
            cursor = r.json["next_cursor"]?.stringValue
            #expect(r.json["next_cursor"] != nil, "next_cursor is always present (null on the last page)")
        } while cursor != nil && result.count < 100
        return result
    }

    @Test func sandboxPagesFollowTheCursorAndStayWithTheirConsumer() throws {
        let x = try Fixture(tokens: true)
        var mine: [String] = [], theirs: [String] = []
        for i in 0..<12 {
            let token = i % 3 == 0 ? APITests.consumerB : APITests.consumerA
            let id = try #require(x.send("POST", "/v1/sandboxes", body: "{}", token: token).json["id"]?.stringValue)
            if token == APITests.consumerA { mine.append(id) } else { theirs.append(id) }
        }
        let a = try pages(x, "/v1/sandboxes?limit=3", key: "sandboxes", token: APITests.consumerA)
        #expect(a.map(\.count) == [3, 3, 2])
        #expect(a.flatMap { $0 } == mine)
        let b = try pages(x, "/v1/sandboxes?limit=2&state=ready", key: "sandboxes", token: APITests.consumerB)
        #expect(b.flatMap { $0 } == theirs)
        let everyone = try pages(x, "/v1/sandboxes?limit=5", key: "sandboxes", token: APITests.operatorToken)
        #expect(Set(everyone.flatMap { $0 }) == Set(mine + theirs) && everyone.count == 3)
        // A's cursor handed to B moves B's start, and B still sees only B's sandboxes.
        let aCursor = try #require(x.send("GET", "/v1/sandboxes?limit=1", token: APITests.consumerA).json["next_cursor"]?.stringValue)
        let crossed = x.send("GET", "/v1/sandboxes?cursor=\(aCursor)", token: APITests.consumerB).json["sandboxes"]
        #expect(crossed?.arrayValue?.allSatisfy { theirs.contains($0["id"]?.stringValue ?? "") } == true)
        for bad in ["cursor=", "cursor=nope", "cursor=MTIz", "limit=0", "limit=1001"] {
            #expect(x.send("GET", "/v1/sandboxes?\(bad)", token: APITests.consumerA).status == 400, "\(bad)")
        }
    }

    @Test func snapshotPagesFollowTheCursorAndStayWithTheirConsumer() throws {
        let x = try Fixture(tokens: true)
        let a = try #require(x.send("POST", "/v1/sandboxes", body: "{}", token: APITests.consumerA).json["id"]?.stringValue)
        let b = try #require(x.send("POST", "/v1/sandboxes", body: "{}", token: APITests.consumerB).json["id"]?.stringValue)
        var mine: [String] = []
        for i in 0..<5 {
            x.f.clock.advance(1)   // distinct creation times: newest first is a known order
            let snap = x.send("POST", "/v1/sandboxes/\(i == 4 ? b : a)/snapshots", body: "{}",
                              token: i == 4 ? APITests.consumerB : APITests.consumerA)
            if i < 4 { mine.insert(try #require(snap.json["id"]?.stringValue), at: 0) }
        }
        let pagesOfA = try pages(x, "/v1/snapshots?limit=3", key: "snapshots", token: APITests.consumerA)
        #expect(pagesOfA == [Array(mine.prefix(3)), Array(mine.dropFirst(3))])
        let ofSandbox = try pages(x, "/v1/sandboxes/\(a)/snapshots?limit=2&all=true", key: "snapshots", token: APITests.consumerA)
        #expect(ofSandbox.flatMap { $0 } == mine && ofSandbox.count == 2)
        #expect(try pages(x, "/v1/snapshots?limit=10", key: "snapshots", token: APITests.operatorToken).flatMap { $0 }.count == 5)
        #expect(x.send("GET", "/v1/snapshots?cursor=zzz", token: APITests.consumerA).status == 400)
    }
}
