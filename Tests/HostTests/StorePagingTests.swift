import Foundation
import Testing
@testable import Basics
@testable import Core
@testable import Store

/// Listings filtered and paged in SQL over 10,000 rows: every page is an index range read from its
/// cursor (the query plan says so, and the statement's VM step count shows it reads about its own
/// rows), pages cover the listing exactly once, and a consumer never sees another's row.
@Suite("SandboxStore paging over 10,000 rows")
struct StorePagingTests {
    static let count = 10_000
    static let owners: [String?] = ["a", "b", nil]   // nil: created by the operator, no owner label

    let directory: StoreDirectory
    let store: SandboxStore
    /// Every sandbox, in listing order (created_at, then id).
    let sandboxes: [Sandbox]

    init() throws {
        directory = try StoreDirectory()
        store = try directory.open()
        var rows: [Sandbox] = []
        for i in 0..<Self.count {
            // Creation times collide in pairs, so the cursor's tie-break on id is exercised.
            var labels = ["team": i % 2 == 0 ? "red" : "blue"]
            if let owner = Self.owners[i % 3] { labels[SandboxLabels.owner] = owner }
            rows.append(makeSandbox(String(format: "sbx-%016x", i), state: SandboxState.allCases[i % 7],
                                    backend: i % 5 == 0 ? "e2b" : "localvm", created: Double(i / 2), labels: labels))
        }
        sandboxes = rows
        try bulkInsert(rows)
    }

    /// One transaction for all rows (10,000 single-row transactions would make the suite slow).
    private func bulkInsert(_ rows: [Sandbox]) throws {
        let placeholders = Array(repeating: "?", count: SandboxStore.sandboxColumns.split(separator: ",").count)
            .joined(separator: ", ")
        try store.locked { () throws(StoreError) in
            try store.connection.transaction(doing: "Bulk insert") { () throws(StoreError) in
                for s in rows {
                    try store.connection.run("INSERT INTO sandboxes (\(SandboxStore.sandboxColumns)) VALUES (\(placeholders))",
                                             SandboxStore.sandboxValues(s), doing: "Bulk insert")
                    for (key, value) in s.labels {
                        try store.connection.run("INSERT INTO sandbox_labels (sandbox_id, key, value) VALUES (?, ?, ?)",
                                                 [.text(s.id), .text(key), .text(value)], doing: "Bulk insert")
                    }
                    try store.appendEvents([createdEvent(s.id)])
                    try store.connection.run("INSERT INTO snapshots (\(SandboxStore.snapshotColumns)) VALUES (\(Array(repeating: "?", count: 16).joined(separator: ", ")))",
                                             SandboxStore.snapshotValues(Self.snapshot(of: s)), doing: "Bulk insert")
                }
            }
        }
    }

    static func snapshot(of s: Sandbox) -> Snapshot {
        Snapshot(id: "snap-" + s.id.dropFirst(4), sandboxId: s.id, backend: s.backend, profile: s.profile, name: nil,
                 state: s.id.hasSuffix("0") ? .deleted : .ready, sizeBytes: 1, backendRef: "ref",
                 createdAt: s.createdAt, updatedAt: s.createdAt, trigger: .manual, deletedReason: nil,
                 owner: s.labels[SandboxLabels.owner], hostId: "host-1", intent: SnapshotIntent(storedJSON: "{}"), message: nil)
    }

    /// Every page of `filter`, `limit` rows at a time, following the cursors.
    private func allPages(_ filter: SandboxFilter, limit: Int) throws -> [[Sandbox]] {
        var pages: [[Sandbox]] = []
        var f = filter
        while true {
            let page = try store.page(f, limit: limit)
            pages.append(page.rows)
            guard let next = page.next else { return pages }
            #expect(page.rows.count == limit)
            f.after = next
        }
    }

    static let filters: [(String, SandboxFilter, @Sendable (Sandbox) -> Bool)] = [
        ("everything", SandboxFilter(), { _ in true }),
        ("consumer a", SandboxFilter(owner: "a"), { $0.labels[SandboxLabels.owner] == "a" }),
        ("consumer b, live", SandboxFilter(states: SandboxState.live, owner: "b"),
         { $0.labels[SandboxLabels.owner] == "b" && SandboxState.live.contains($0.state) }),
        ("one state", SandboxFilter(states: [.failed]), { $0.state == .failed }),
        ("not terminal", SandboxFilter(states: Set(SandboxState.allCases.filter { !$0.isTerminal })), { !$0.state.isTerminal }),
        ("backend and label", SandboxFilter(backend: "e2b", labels: ["team": "red"]),
         { $0.backend == "e2b" && $0.labels["team"] == "red" }),
        ("owner as a label", SandboxFilter(labels: [SandboxLabels.owner: "a", "team": "blue"]),
         { $0.labels[SandboxLabels.owner] == "a" && $0.labels["team"] == "blue" }),
    ]

    @Test func pagesCoverEachListingExactlyOnceInOrder() throws {
        for (name, filter, matches) in Self.filters {
            let expected = sandboxes.filter(matches).map(\.id)
            let pages = try allPages(filter, limit: 50)
            #expect(pages.flatMap { $0.map(\.id) } == expected, "\(name)")
            #expect(pages.count == max(1, (expected.count + 49) / 50), "\(name)")
            #expect(try store.list(filter).map(\.id) == expected, "\(name): one unpaged list")
        }
    }

    @Test func aConsumerNeverSeesAnotherConsumersRowAcrossPages() throws {
        for owner in ["a", "b"] {
            for states in [nil, SandboxState.live, [.destroyed]] as [Set<SandboxState>?] {
                let rows = try allPages(SandboxFilter(states: states, owner: owner), limit: 97).flatMap { $0 }
                #expect(!rows.isEmpty)
                #expect(rows.allSatisfy { $0.labels[SandboxLabels.owner] == owner })
            }
            // A cursor taken from someone else's row moves the start, and still shows only the owner's rows.
            let foreign = try #require(sandboxes.last { $0.labels[SandboxLabels.owner] != owner })
            let page = try store.page(SandboxFilter(owner: owner, after: PageCursor(after: foreign)), limit: 50)
            #expect(page.rows.allSatisfy { $0.labels[SandboxLabels.owner] == owner })
        }
        #expect(try store.list(SandboxFilter(owner: "nobody")).isEmpty)
        #expect(try store.list(SandboxFilter(states: [], owner: "a")).isEmpty)
    }

    @Test func aPageOf50ReadsAboutItsOwnRowsWhateverTheTableHolds() throws {
        for (name, filter, matches) in Self.filters where name != "backend and label" && name != "owner as a label" {
            let middle = sandboxes.filter(matches)[sandboxes.filter(matches).count / 2]
            var paged = filter
            paged.after = PageCursor(after: middle)
            let page = try store.page(paged, limit: 50)
            #expect(page.rows.count == 50, "\(name)")
            let pageSteps = store.lastStatementSteps()
            var everything = filter
            everything.after = nil
            let all = try store.list(everything)
            let allSteps = store.lastStatementSteps()
            // Per row returned, a page costs what the whole listing costs: it reads its rows and
            // (nearly) nothing else. A page that walked or sorted the rest would cost far more.
            let perRowPage = Double(pageSteps) / 51, perRowAll = Double(allSteps) / Double(all.count)
            #expect(perRowPage < perRowAll * 2 + 20, "\(name): \(pageSteps) steps for a page, \(allSteps) for \(all.count) rows")
            // ~30-70 steps a row (more with several states merged); reading the table would be 10,000 rows.
            #expect(pageSteps < 100 * 51, "\(name): \(pageSteps) steps for a page")
            #expect(pageSteps * 10 < allSteps, "\(name): \(pageSteps) steps for a page, \(allSteps) for \(all.count) rows")

            let (sql, values) = try #require(SandboxStore.listQuery(paged).statement)
            let plan = try store.queryPlan(sql: sql, values: values).joined(separator: "\n")
            #expect(!plan.contains("TEMP B-TREE"), "\(name): sorts\n\(plan)")
            #expect(!plan.contains("SCAN"), "\(name): scans\n\(plan)")
            #expect(plan.contains("USING INDEX sandboxes_"), "\(name)\n\(plan)")
        }
    }

    @Test func aConsumersEventPageIsAnIndexRange() throws {
        let mine = Set(sandboxes.filter { $0.labels[SandboxLabels.owner] == "a" }.map(\.id))
        var since: Int64 = 0
        var seen: [String] = []
        var steps: [Int] = []
        while true {
            let page = try store.eventPage(sandboxId: nil, owner: "a", since: since, limit: 50)
            steps.append(store.lastStatementSteps())
            #expect(page.events.allSatisfy { mine.contains($0.sandboxId) })
            seen += page.events.map(\.sandboxId)
            if page.events.count < 50 {
                #expect(page.next == Int64(Self.count))   // past the others' events after the last of mine
                break
            }
            #expect(page.next == page.events.last?.seq)
            since = page.next
        }
        #expect(seen == sandboxes.map(\.id).filter(mine.contains))
        let full = steps.dropLast()
        #expect(full.max()! <= full.min()! * 2, "pages late in the outbox cost more: \(steps)")
        let all = try store.events(sandboxId: nil, since: nil, limit: nil)
        #expect(steps[0] * 20 < store.lastStatementSteps(), "\(steps[0]) steps for a page, \(store.lastStatementSteps()) for \(all.count)")
        let plan = try store.queryPlan(sql: "SELECT \(SandboxStore.eventColumns) FROM events WHERE seq > ? AND seq <= ? AND owner = ? ORDER BY seq LIMIT ?",
                                       values: [.integer(5000), .integer(10_000), .text("a"), .integer(50)]).joined(separator: "\n")
        #expect(plan.contains("USING INDEX events_owner (owner=? AND seq>? AND seq<?)") && !plan.contains("TEMP B-TREE"), "\(plan)")
    }

    @Test func snapshotPagesAreIndexRangesAndStayWithTheirOwner() throws {
        for owner in ["a", nil] as [String?] {
            let expected = sandboxes.reversed().map(Self.snapshot(of:))
                .filter { owner == nil || $0.owner == owner }.filter { $0.state != .deleted }.map(\.id)
            var filter = SnapshotFilter(states: [.creating, .ready, .deleting], owner: owner)
            var ids: [String] = []
            var pageSteps = 0
            while true {
                let page = try store.page(filter, limit: 50)
                pageSteps = max(pageSteps, store.lastStatementSteps())
                ids += page.rows.map(\.id)
                #expect(page.rows.allSatisfy { owner == nil || $0.owner == owner })
                guard let next = page.next else { break }
                filter.after = next
            }
            #expect(ids == expected)
            filter.after = nil
            _ = try store.snapshots(filter)
            #expect(pageSteps * 20 < store.lastStatementSteps(), "\(owner ?? "operator"): \(pageSteps) per page")
            filter.after = PageCursor(createdAt: at(2500), id: "snap-x")
            let (sql, values) = try #require(SandboxStore.snapshotQuery(filter).statement)
            let plan = try store.queryPlan(sql: sql, values: values).joined(separator: "\n")
            #expect(!plan.contains("TEMP B-TREE") && !plan.contains("SCAN"), "\(plan)")
        }
    }
}

@Suite struct PageCursorTests {
    @Test func tokensRoundTripAndNothingElseReads() {
        let cursor = PageCursor(createdAt: Date(millisecondsSince1970: 1_700_000_000_123), id: "sbx-00000000000000ff")
        #expect(PageCursor(token: cursor.token) == cursor)
        #expect(!cursor.token.contains("sbx"), "the token is opaque")
        for bad in ["", "abc", "0", "MTIz", "MTIzOg", "eDpzYng", String(repeating: "A", count: 300), "a b", "a+b/c="] {
            #expect(PageCursor(token: bad) == nil, "\(bad)")
        }
    }
}
