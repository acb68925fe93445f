import Foundation
import Testing
@testable import Basics
@testable import HTTPServer
@testable import YAMLSubset
@testable import PluginProtocol
@testable import Core
@testable import Config
@testable import Store
@testable import Backends
@testable import Lifecycle
@testable import Webhooks
@testable import API
@testable import CLI

@Suite("SandboxStore shared by several connections")
struct StoreConcurrencyTests {
    let directory: StoreDirectory

    init() throws { directory = try StoreDirectory() }

    @Test func twoStoresOnOneFileSeeEachOthersWrites() throws {
        let first = try directory.open()
        let second = try directory.open()
        try first.insert(makeSandbox("sbx-a"), event: createdEvent("sbx-a"))
        #expect(try second.get(id: "sbx-a") == makeSandbox("sbx-a"))

        var active = makeSandbox("sbx-a", state: .active)
        active.updatedAt = at(10)
        #expect(try second.update(active, expecting: [.ready], events: [SandboxEvent(seq: 0, sandboxId: "sbx-a", storedType: "active", at: at(10), data: [:])]))
        #expect(try first.get(id: "sbx-a")?.state == .active)
        #expect(try first.events(sandboxId: "sbx-a", since: nil, limit: nil).map(\.type) == ["created", "active"])
        // A read on one connection does not pin an old snapshot: later writes from the other show up.
        _ = try first.list(SandboxFilter())
        try second.insert(makeSandbox("sbx-b", created: 1), event: createdEvent("sbx-b"))
        #expect(try first.list(SandboxFilter()).map(\.id) == ["sbx-a", "sbx-b"])
    }

    @Test func storesOpeningAFreshFileAtOnceMigrateItOnce() throws {
        let opened = Counter()
        let failed = Counter()
        let messages = Messages()
        let path = directory.dbPath
        DispatchQueue.concurrentPerform(iterations: 4) { index in
            do {
                let store = try SandboxStore(path: path)
                if store.schemaVersion == SandboxStore.migrations.count { opened.add(0) }
            } catch {
                failed.add(index)
                messages.add("store \(index): \(error)")
            }
        }
        // The message says which step failed (seen once under load, 2026-11-30: one of four, after ~16 s).
        #expect(failed.counts.isEmpty, "\(messages.all)")
        #expect(opened.counts[0] == 4)
        let versions = try SQLiteConnection(path: directory.dbPath, busyTimeoutMilliseconds: 1000)
            .rows("SELECT version FROM schema_migrations ORDER BY version", [], doing: "test") { $0.int64(0) }
        #expect(versions == (1...SandboxStore.migrations.count).map(Int64.init))
    }

    @Test func racingConditionalUpdatesHaveExactlyOneWinner() throws {
        let stores = [try directory.open(), try directory.open(), try directory.open()]
        let rounds = 20
        for round in 0..<rounds {
            try stores[0].insert(makeSandbox("sbx-\(round)"), event: createdEvent("sbx-\(round)"))
        }
        // Each round, every store (and two threads per store) tries the same ready → expired transition.
        let attempts = stores.count * 2
        let wins = Counter()
        let failures = Counter()
        for round in 0..<rounds {
            DispatchQueue.concurrentPerform(iterations: attempts) { attempt in
                let store = stores[attempt % stores.count]
                var expired = makeSandbox("sbx-\(round)", state: .expired)
                expired.reason = .ttl
                expired.backendRef = "winner-\(attempt)"
                let event = SandboxEvent(sandboxId: expired.id, type: .expired, at: at(1), data: ["by": .number(Double(attempt))])
                do {
                    if try store.update(expired, expecting: SandboxState.live, events: [event]) { wins.add(round) }
                } catch {
                    failures.add(round)
                }
            }
        }
        #expect(failures.counts.isEmpty, "updates failed: \(failures.counts)")
        for round in 0..<rounds {
            #expect(wins.counts[round] == 1, "round \(round)")
            let events = try stores[1].events(sandboxId: "sbx-\(round)", since: nil, limit: nil)
            #expect(events.map(\.type) == ["created", "expired"])
            // The event that was written is the winner's own.
            let winner = try #require(try stores[2].get(id: "sbx-\(round)")?.backendRef)
            #expect(events.last.map { "winner-" + $0.data.jsonText.filter(\.isNumber) } == winner)
        }
    }
}

/// A thread-safe tally per key.
// @unchecked Sendable: `counts` is only touched while holding `lock`.
/// Error texts collected from several threads.
private final class Messages: @unchecked Sendable {
    // @unchecked: `texts` is only touched with `lock` held.
    private let lock = NSLock()
    private var texts: [String] = []
    func add(_ text: String) { lock.lock(); texts.append(text); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return texts }
}

private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Int: Int] = [:]

    func add(_ key: Int) { lock.withLock { storage[key, default: 0] += 1 } }
    var counts: [Int: Int] { lock.withLock { storage } }
}

@Suite("SandboxStore under a held lock")
struct StoreBusyTests {
    @Test func aWriterHeldPastTheTimeoutIsBusy() throws {
        let directory = try StoreDirectory()
        let store = try SandboxStore(path: directory.dbPath, busyTimeoutMilliseconds: 50)
        // Another "process" holds the write lock and never lets go during the insert.
        let other = try SQLiteConnection(path: directory.dbPath, busyTimeoutMilliseconds: 50)
        try other.execute("BEGIN IMMEDIATE", doing: "holding the write lock")
        let error = #expect(throws: StoreError.self) {
            try store.insert(makeSandbox("sbx-a"), event: createdEvent("sbx-a"))
        }
        #expect(error?.code == .busy)
        // Readers are not blocked by a writer in WAL mode.
        #expect(try store.get(id: "sbx-a") == nil)
        try other.execute("COMMIT", doing: "releasing the write lock")
        try store.insert(makeSandbox("sbx-a"), event: createdEvent("sbx-a"))
        #expect(try store.get(id: "sbx-a") != nil)
    }
}
