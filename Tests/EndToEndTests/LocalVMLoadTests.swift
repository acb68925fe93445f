import Foundation
import Testing

/// The load test on real LocalVM sandboxes (root, bridged network): concurrent HTTP creates and
/// destroys leave exactly what the store says, and kill -9 of `serve` during concurrent creates leaves
/// every row accounted for and nothing leaked (`LocalVMLeakScan`). p50/p99 go to the test log only.
/// `SANDBOXER_LOAD_LOCALVM_COUNT` sets the count (default 20: real sandboxes on 2 shared cores).
@Suite(.serialized, .enabled(if: Machine.isRoot && Machine.hasBusybox && Machine.hasTool("sqlite3"),
                             "needs root, busybox-static and sqlite3 (apt-get install busybox-static sqlite3)"))
struct LocalVMLoadTests {
    static let count = max(2, Int(ProcessInfo.processInfo.environment["SANDBOXER_LOAD_LOCALVM_COUNT"] ?? "") ?? 20)

    /// A pool of its own with room for 256 bridged sandboxes (a /30 each): a random /22 in 10.235.0.0/16,
    /// apart from the /26s the other end-to-end suites lease (10.233/16) and the plugin tests' (10.232/16).
    static var pool: String { "10.235.\(UInt8.random(in: 0...63) * 4).0/22" }

    @Test func concurrentCreatesDestroysAndAKillOfServeLeakNothing() throws {
        var cli = try CLIRunner()
        let parent = "sbxload-" + cli.home.suffix(8)
        try cli.useConfig(CLIRunner.localVMConfigHead(pool: Self.pool, settings: ["cgroup_parent: \(parent)"]) + """
            profiles:
              default:
                backend: localvm
                resources: {memory: 128M, pids: 64}
                network: bridge
                ttl: {default: 1h, max: 24h}
            """)
        let scan = LocalVMLeakScan(home: cli.home, cgroupParent: parent)
        defer {
            for row in (try? scan.rows()) ?? [] where row.state != "destroyed" { _ = try? cli.run(["destroy", row.id]) }
            scan.removeCgroupParents()
            try? FileManager.default.removeItem(atPath: cli.home)
        }
        let n = Self.count
        let load = LoadTests()

        // 1. n concurrent creates, then n concurrent destroys.
        let serve = try ServeProcess(cli, sweepInterval: "1h")
        let created = load.concurrently(n) { _ in
            LoopbackHTTP.request(port: serve.port, method: "POST", path: "/v1/sandboxes", body: #"{"profile":"default"}"#)
        }
        print("load: \(n) concurrent LocalVM creates (HTTP): \(Latency.summary(created.map(\.seconds)))")
        #expect(created.allSatisfy { $0.status == 201 }, "\(created.filter { $0.status != 201 }.prefix(3).map(\.body))")
        let ids = created.compactMap { LoadTests.id($0.body) }
        #expect(Set(ids).count == n)
        let links = scan.leasedLinks()
        #expect(try scan.rows().filter { $0.state == "ready" }.count == n)
        #expect(try scan.leaks(links: links).isEmpty)
        let destroyed = load.concurrently(ids.count) { i in
            LoopbackHTTP.request(port: serve.port, method: "DELETE", path: "/v1/sandboxes/\(ids[i])")
        }
        print("load: \(ids.count) concurrent LocalVM destroys (HTTP): \(Latency.summary(destroyed.map(\.seconds)))")
        #expect(destroyed.allSatisfy { $0.status == 200 }, "\(destroyed.filter { $0.status != 200 }.prefix(3).map(\.body))")
        #expect(try scan.unsettled().isEmpty)
        #expect(try scan.leaks(links: links).isEmpty)

        // 2. kill -9 of serve once half of n concurrent creates have answered.
        let answered = LockedBox(0)
        let half = DispatchSemaphore(value: 0), killed = DispatchSemaphore(value: 0)
        let seen = LockedBox<[String: String]>([:])
        Thread.detachNewThread {
            half.wait()
            seen.set(scan.leasedLinks())  // the links that exist at the kill, to check they go
            serve.killNine()
            killed.signal()
        }
        let second = load.concurrently(n) { _ -> LoopbackHTTP.Response in
            let r = LoopbackHTTP.request(port: serve.port, method: "POST", path: "/v1/sandboxes", body: #"{"profile":"default"}"#)
            if answered.update({ $0 += 1; return $0 }) == max(1, n / 2) { half.signal() }
            return r
        }
        killed.wait()
        let next = try cli.run(["list", "--all", "--json"])
        #expect(next.status == 0, "\(next.stderr)")
        let rows = try scan.rows()
        let answeredIds = second.filter { $0.status == 201 }.compactMap { LoadTests.id($0.body) }
        for id in answeredIds { #expect(rows.first { $0.id == id }?.state == "ready", "\(id) was answered 201") }
        print("load: kill -9 of LocalVM serve after \(n / 2) of \(n) creates answered: \(answeredIds.count) created, "
              + "\(rows.filter { $0.state == "failed" }.count) rows failed by the next command")
        let unsettled = try scan.unsettled()
        #expect(unsettled.isEmpty, "\(unsettled)")
        var all = links
        all.merge(seen.get()) { a, _ in a }
        all.merge(scan.leasedLinks()) { a, _ in a }
        let leaks = try scan.leaks(links: all)
        #expect(leaks.isEmpty, "\(leaks)")
    }
}
