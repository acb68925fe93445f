import Foundation
import Testing

/// Concurrency under load through the built binary on the file-backed test plugin: what must hold is
/// asserted; how long it took is only printed (p50/p99 to the test log, never a timed assertion).
/// `SANDBOXER_LOAD_COUNT` sets the number of concurrent HTTP creates (default 100; the CLI runs half as many).
@Suite(.serialized) struct LoadTests {
    static let count = max(2, Int(ProcessInfo.processInfo.environment["SANDBOXER_LOAD_COUNT"] ?? "") ?? 100)

    func fake() throws -> CLIRunner {
        try CLIRunner.onFakeBackend(profiles: """
              default:
                backend: fake
                ttl: {default: 1h, max: 4h}
            """)
    }

    /// Resource files the fake backend holds (one per sandbox it was asked to make and still has).
    func resources(_ cli: CLIRunner) throws -> Set<String> {
        Set(try FileManager.default.contentsOfDirectory(atPath: cli.home + "/fake").filter { $0.hasSuffix(".json") })
    }

    /// The rows as `list --all --json` shows them (id → state, reason), after the command's reconcile.
    func rows(_ cli: CLIRunner) throws -> [String: (state: String, reason: String?)] {
        let list = try cli.run(["list", "--all", "--json"])
        try #require(list.status == 0, "\(list.stderr)")
        var rows: [String: (state: String, reason: String?)] = [:]
        for row in try list.array() {
            rows[try #require(row["id"] as? String)] = (try #require(row["state"] as? String), row["reason"] as? String)
        }
        return rows
    }

    /// Runs `body(i)` on `n` threads released together; returns the results in order.
    func concurrently<T: Sendable>(_ n: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
        let results = LockedBox<[Int: T]>([:])
        let group = DispatchGroup()
        let start = DispatchSemaphore(value: 0)
        for i in 0..<n {
            group.enter()
            Thread.detachNewThread {
                start.wait()
                let r = body(i)
                results.update { $0[i] = r }
                group.leave()
            }
        }
        for _ in 0..<n { start.signal() }
        group.wait()
        let all = results.get()
        return (0..<n).compactMap { all[$0] }
    }

    static func id(_ body: String) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["id"] as? String
    }

    @Test func concurrentHTTPCreatesMakeOneSandboxEachAndLeakNothing() throws {
        let cli = try fake()
        let serve = try ServeProcess(cli, sweepInterval: "1h")
        defer { serve.stop() }
        let n = Self.count
        let answers = concurrently(n) { _ in
            LoopbackHTTP.request(port: serve.port, method: "POST", path: "/v1/sandboxes", body: #"{"profile":"default"}"#)
        }
        print("load: \(n) concurrent HTTP creates: \(Latency.summary(answers.map(\.seconds)))")
        #expect(answers.allSatisfy { $0.status == 201 }, "statuses: \(Dictionary(grouping: answers.map(\.status), by: { $0 }).mapValues(\.count))")
        let ids = answers.compactMap { Self.id($0.body) }
        #expect(ids.count == n)
        #expect(Set(ids).count == n, "duplicate ids")
        let rows = try rows(cli)
        #expect(rows.count == n)
        #expect(rows.values.allSatisfy { $0.state == "ready" })
        #expect(try resources(cli).count == n, "the backend holds another number of sandboxes than the store")
    }

    @Test func concurrentCLICreatesOnOneStoreNeverSeeALockedDatabase() throws {
        let cli = try fake()
        let n = max(1, Self.count / 2)
        let results = concurrently(n) { _ -> (status: Int32, stdout: String, stderr: String, seconds: Double) in
            let started = Date()
            guard let r = try? cli.run(["create", "--json"]) else { return (-1, "", "could not start", 0) }
            return (r.status, r.stdout, r.stderr, Date().timeIntervalSince(started))
        }
        print("load: \(n) concurrent CLI creates on one store: \(Latency.summary(results.map(\.seconds)))")
        #expect(results.allSatisfy { $0.status == 0 }, "\(results.filter { $0.status != 0 }.map(\.stderr).prefix(3))")
        #expect(!results.contains { $0.stderr.contains("locked") }, "a create saw a locked database")
        let ids = results.compactMap { Self.id($0.stdout) }
        #expect(Set(ids).count == n)
        #expect(try rows(cli).values.filter { $0.state == "ready" }.count == n)
        #expect(try resources(cli).count == n)
    }

    @Test func oneIdempotencyKeyMakesOneSandbox() throws {
        let cli = try fake()
        let serve = try ServeProcess(cli, sweepInterval: "1h")
        defer { serve.stop() }
        let n = Self.count
        let answers = concurrently(n) { _ in
            LoopbackHTTP.request(port: serve.port, method: "POST", path: "/v1/sandboxes", body: #"{"profile":"default"}"#,
                                 headers: ["Idempotency-Key": "load-test-key"])
        }
        print("load: \(n) creates with one Idempotency-Key: \(Latency.summary(answers.map(\.seconds)))")
        #expect(answers.allSatisfy { $0.status == 201 || $0.status == 200 })
        #expect(answers.filter { $0.status == 201 }.count == 1, "more than one create made a sandbox")
        #expect(Set(answers.compactMap { Self.id($0.body) }).count == 1)
        #expect(try rows(cli).count == 1)
        #expect(try resources(cli).count == 1)
    }

    @Test func killNineOfServeDuringCreatesLeavesEveryRowAccountedFor() throws {
        let cli = try fake()
        let serve = try ServeProcess(cli, sweepInterval: "1h")
        let n = Self.count
        // The kill comes once half the creates have answered (a handshake on the answers, not a delay).
        let answered = LockedBox(0)
        let half = DispatchSemaphore(value: 0)
        let killed = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            half.wait()
            serve.killNine()
            killed.signal()
        }
        let answers = concurrently(n) { _ -> LoopbackHTTP.Response in
            let r = LoopbackHTTP.request(port: serve.port, method: "POST", path: "/v1/sandboxes", body: #"{"profile":"default"}"#)
            if answered.update({ $0 += 1; return $0 }) == max(1, n / 2) { half.signal() }
            return r
        }
        killed.wait()
        let created = answers.filter { $0.status == 201 }.compactMap { Self.id($0.body) }
        print("load: kill -9 of serve after \(n / 2) of \(n) creates answered: \(created.count) created before the kill")

        // The next command reconciles: every row is ready or ended with a reason, nothing leaks.
        let rows = try rows(cli)
        for id in created { #expect(rows[id]?.state == "ready", "\(id) was answered 201 but is \(rows[id]?.state ?? "missing")") }
        for (id, row) in rows where row.state != "ready" {
            #expect(row.state == "failed" && row.reason != nil, "\(id) is \(row.state)")
        }
        let ready = rows.values.filter { $0.state == "ready" }.count
        print("load: after the kill and the next command: \(rows.count) rows, \(ready) ready, \(rows.count - ready) failed; "
              + "\(answers.filter { $0.status == 0 }.count) requests got no answer")
        let held = try resources(cli).count
        #expect(held == ready, "the backend holds \(held) sandboxes, the store \(ready) ready rows")
    }
}
