import Foundation
import Testing
@testable import Basics
@testable import HTTPServer
@testable import Core
@testable import Store
@testable import Lifecycle
@testable import API

/// The rendered-JSON cache behind `GET /v1/sandboxes/{id}`: every kind of store write, through this
/// store or another connection to the same file, must make the next answer the fresh row's.
@Suite struct SandboxJSONCacheTests {
    /// What the API answered before the cache: the service's row, rendered.
    static func fresh(_ f: ServiceFixture, _ id: String) throws -> Data {
        SandboxJSONCache.render(try f.service.get(id))
    }

    static func create(_ f: ServiceFixture, labels: [String: String] = [:]) throws -> Sandbox {
        try f.service.create(CreateOptions(profile: "default", ttl: nil, labels: labels, idempotencyKey: nil,
                                           owner: nil, fromSnapshot: nil, consumer: nil)).sandbox
    }

    @Test func aHitNeedsAFillAndAnUnchangedStore() throws {
        let f = try ServiceFixture()
        let cache = SandboxJSONCache()
        let sandbox = try Self.create(f)
        #expect(try cache.lookupIfCurrent(sandbox.id, in: f.service.store) == nil)  // never read yet
        let first = try #require(try cache.lookup(sandbox.id, in: f.service.store))
        #expect(first.json == (try Self.fresh(f, sandbox.id)))
        let hit = try #require(try cache.lookupIfCurrent(sandbox.id, in: f.service.store))
        #expect(hit.json == first.json && hit.sandbox == first.sandbox)
        #expect(try cache.lookup("sbx-00000000000000ff", in: f.service.store) == nil)
    }

    @Test func extendingTheTTLInvalidates() throws {
        let f = try ServiceFixture()
        let cache = SandboxJSONCache()
        let sandbox = try Self.create(f)
        let before = try #require(try cache.lookup(sandbox.id, in: f.service.store)).json
        _ = try f.service.extendTTL(sandbox.id, duration: "1h", by: "test")
        #expect(try cache.lookupIfCurrent(sandbox.id, in: f.service.store) == nil)
        let after = try #require(try cache.lookup(sandbox.id, in: f.service.store)).json
        #expect(after != before)
        #expect(after == (try Self.fresh(f, sandbox.id)))
    }

    @Test func destroyingInvalidatesAndDeletingForgets() throws {
        let f = try ServiceFixture()
        let cache = SandboxJSONCache()
        let sandbox = try Self.create(f)
        _ = try cache.lookup(sandbox.id, in: f.service.store)
        _ = try f.service.destroy(sandbox.id)
        #expect(try cache.lookupIfCurrent(sandbox.id, in: f.service.store) == nil)
        let after = try #require(try cache.lookup(sandbox.id, in: f.service.store))
        #expect(after.sandbox.state == .destroyed)
        #expect(after.json == (try Self.fresh(f, sandbox.id)))
        // A row deleted under the cache (retention, another process) is gone from the answer too.
        try f.service.store.locked { () throws(StoreError) in
            _ = try f.service.store.connection.run("DELETE FROM sandbox_labels WHERE sandbox_id = ?", [.text(sandbox.id)], doing: "test")
            _ = try f.service.store.connection.run("DELETE FROM sandboxes WHERE id = ?", [.text(sandbox.id)], doing: "test")
        }
        #expect(try cache.lookup(sandbox.id, in: f.service.store) == nil)
        #expect(cache.count == 0)
    }

    @Test func aWriteToAnotherSandboxOrTableOnlyCostsARead() throws {
        let f = try ServiceFixture()
        let cache = SandboxJSONCache()
        let a = try Self.create(f, labels: ["team": "x"])
        let cached = try #require(try cache.lookup(a.id, in: f.service.store))
        _ = try Self.create(f)   // an insert elsewhere (sandbox row, labels, event)
        #expect(try cache.lookupIfCurrent(a.id, in: f.service.store) == nil)  // the stamp moved
        let again = try #require(try cache.lookup(a.id, in: f.service.store))
        #expect(again.json == cached.json)
        #expect(try cache.lookupIfCurrent(a.id, in: f.service.store) != nil)
    }

    @Test func anotherConnectionsCommitInvalidates() throws {
        let f = try ServiceFixture()
        let cache = SandboxJSONCache()
        let sandbox = try Self.create(f)
        _ = try cache.lookup(sandbox.id, in: f.service.store)
        // Another process's CLI writes through its own connection: only data_version tells.
        let other = try SandboxStore(path: f.service.store.path)
        var changed = try #require(try other.get(id: sandbox.id))
        changed.labels["late"] = "label"
        changed.updatedAt = changed.updatedAt.addingTimeInterval(1)
        #expect(try other.update(changed, expecting: [changed.state], events: []))
        #expect(try cache.lookupIfCurrent(sandbox.id, in: f.service.store) == nil)
        let after = try #require(try cache.lookup(sandbox.id, in: f.service.store))
        #expect(after.sandbox.labels["late"] == "label")
        #expect(after.json == (try Self.fresh(f, sandbox.id)))
    }

    @Test func aLabelOnlyChangeInvalidates() throws {
        // Labels live in their own table as well: a write of only them must still be seen.
        let f = try ServiceFixture()
        let cache = SandboxJSONCache()
        let sandbox = try Self.create(f, labels: ["k": "v1"])
        _ = try cache.lookup(sandbox.id, in: f.service.store)
        var changed = sandbox
        changed = try #require(try f.service.store.get(id: sandbox.id))
        changed.labels["k"] = "v2"
        #expect(try f.service.store.update(changed, expecting: [changed.state], events: []))
        #expect(try cache.lookupIfCurrent(sandbox.id, in: f.service.store) == nil)
        #expect(try cache.lookup(sandbox.id, in: f.service.store)?.sandbox.labels["k"] == "v2")
    }

    @Test func theInlineCheckDoesNotWaitForABusyStore() throws {
        let f = try ServiceFixture()
        let cache = SandboxJSONCache()
        let sandbox = try Self.create(f)
        _ = try cache.lookup(sandbox.id, in: f.service.store)
        // While another thread holds the store (a write in progress), the loop thread gets nil at once.
        let inside: Bool? = try f.service.store.locked { () throws(StoreError) -> Bool? in
            try cache.lookupIfCurrent(sandbox.id, in: f.service.store) == nil
        }
        #expect(inside == true)
        #expect(try cache.lookupIfCurrent(sandbox.id, in: f.service.store) != nil)
    }

    @Test func theCacheIsBounded() throws {
        let f = try ServiceFixture()
        let cache = SandboxJSONCache(capacity: 2)
        for _ in 0..<3 { _ = try cache.lookup(try Self.create(f).id, in: f.service.store) }
        #expect(cache.count <= 2)
    }

    @Test func theAPIAnswersInlineOnlyWhatAWorkerWouldAnswer() throws {
        let f = try ServiceFixture()
        let api = try SandboxAPI(service: f.service, settings: ServerSettings())
        let sandbox = try Self.create(f)
        let get = HTTPRequest(method: "GET", target: "/v1/sandboxes/\(sandbox.id)")
        #expect(api.handleInline(get) == nil)   // not cached yet: the worker reads it
        let worker = api.handle(get)
        let inline = try #require(api.handleInline(get))
        #expect(inline == worker)
        _ = try f.service.extendTTL(sandbox.id, duration: "1h", by: "test")
        #expect(api.handleInline(get) == nil)   // stale: back to the worker
        #expect(api.handle(get).body == (try Self.fresh(f, sandbox.id)))
        #expect(api.handleInline(HTTPRequest(method: "GET", target: "/v1/sandboxes")) == nil)
        #expect(api.handleInline(HTTPRequest(method: "DELETE", target: "/v1/sandboxes/\(sandbox.id)")) == nil)
        #expect(api.handleInline(HTTPRequest(method: "GET", target: "/v1/sandboxes/sbx-00000000000000ff")) == nil)
    }
}
