import Foundation
import Testing

/// fin-hub end to end: a real `sandboxer serve` as the hub (TestPlugin's fake backend behind it) and
/// the built CLI as the local host, whose only backend is libSandboxerFinHub.so.
///
/// Every wait is a handshake: the hub's ready line, or the hub's events long-poll (bounded).
@Suite(.serialized, .enabled(if: Products.built, "needs the built sandboxer, libSandboxerFinHub.so and libSandboxerTestPlugin.so (swift build)"))
final class FinHubEndToEndTests {
    let root: String
    let hub: HubServer
    let local: LocalHost

    init() throws {
        root = NSTemporaryDirectory() + "sandboxer-finhub-" + UUID().uuidString.prefix(8).lowercased()
        hub = try HubServer(home: root + "/hub")
        try hub.start()
        local = try LocalHost(home: root + "/local", hubURL: hub.url)
    }

    deinit {
        hub.stop()
        try? FileManager.default.removeItem(atPath: root)
    }

    @Test func createExecExtendDestroy() throws {
        let (id, hubId) = try local.create()
        let onHub = try hub.sandbox(hubId)
        #expect(onHub["state"] as? String == "ready")
        let labels = try #require(onHub["labels"] as? [String: String])
        #expect(labels["finhub.host"] == LocalHost.hostId)
        #expect(labels["finhub.sandbox"] == id)
        #expect(labels["finhub.profile"] == "default")
        // Our 10m TTL + the host's 60s + 5m grace = 960s on the hub, as a duration.
        #expect(onHub["ttl_seconds"] as? Int == 960)
        let before = try #require((onHub["expires_at"] as? String).flatMap(Self.date))

        let ran = try local.run(["exec", id, "--", "exit", "3"])
        #expect(ran.status == 3, "\(ran.stderr)")
        #expect(ran.stdout == "ran: exit 3\n")

        let extended = try local.run(["extend-ttl", id, "--duration", "1h"])
        #expect(extended.status == 0, "\(extended.stderr)")
        #expect(!extended.stderr.contains("warning"), "\(extended.stderr)")
        let after = try #require((try hub.sandbox(hubId)["expires_at"] as? String).flatMap(Self.date))
        // The local deadline moved by 1h; the hub's must now be at least the new one + grace.
        let localExpires = try #require((try local.run(["show", id, "--json"]).object()["expires_at"] as? String).flatMap(Self.date))
        #expect(after > before.addingTimeInterval(3000), "hub deadline \(before) → \(after)")
        #expect(after >= localExpires.addingTimeInterval(300), "hub \(after) vs local \(localExpires)")

        let destroyed = try local.run(["destroy", id])
        #expect(destroyed.status == 0, "\(destroyed.stderr)")
        #expect(try hub.sandbox(hubId)["state"] as? String == "destroyed")
        // Destroying again is idempotent on both sides.
        #expect(try local.run(["destroy", id]).status == 0)
    }

    @Test func expireApplyDestroysOnTheHub() throws {
        let (id, hubId) = try local.create()
        let swept = try local.run(["expire", "--apply"], extraEnv: ["SANDBOXER_CLOCK_OFFSET": "20m"])
        #expect(swept.status == 0, "\(swept.stderr)")
        #expect(try local.run(["show", id, "--json"]).object()["state"] as? String == "destroyed")
        #expect(try hub.sandbox(hubId)["state"] as? String == "destroyed")
    }

    @Test func reapStaleDestroysOurLabelledOrphanNeverAnUnlabelledOne() throws {
        let consumer = HubServer.consumerToken
        let orphan = try hub.call("POST", "/v1/sandboxes", body: #"{"labels":{"finhub.host":"\#(LocalHost.hostId)","finhub.sandbox":"sbx-00000000000000aa"}}"#,
                                  token: consumer)
        let stranger = try hub.call("POST", "/v1/sandboxes", body: #"{"labels":{"team":"other"}}"#, token: consumer)
        let otherHost = try hub.call("POST", "/v1/sandboxes", body: #"{"labels":{"finhub.host":"someone-else"}}"#, token: consumer)
        #expect(orphan.status == 201 && stranger.status == 201 && otherHost.status == 201)
        let orphanId = try #require(orphan.json["id"] as? String)
        let strangerId = try #require(stranger.json["id"] as? String)
        let otherId = try #require(otherHost.json["id"] as? String)
        let (kept, keptHub) = try local.create()

        let plan = try local.run(["reap-stale", "--json"]).object()
        let planned = (plan["orphans"] as? [[String: Any]] ?? []).compactMap { $0["backend_ref"] as? String }
        #expect(planned == [orphanId], "\(plan)")

        let applied = try local.run(["reap-stale", "--apply", "--json"])
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(try hub.sandbox(orphanId)["state"] as? String == "destroyed")
        #expect(try hub.sandbox(strangerId)["state"] as? String == "ready")
        #expect(try hub.sandbox(otherId)["state"] as? String == "ready")
        #expect(try hub.sandbox(keptHub)["state"] as? String == "ready")
        #expect(try local.run(["destroy", kept]).status == 0)
    }

    @Test func hubDownIsUnavailableInOneClearLine() throws {
        let (id, _) = try local.create()
        #expect(hub.stop() == 0)
        let ran = try local.run(["exec", id, "--", "exit", "0"])
        #expect(ran.status == 4, "\(ran.status) \(ran.stderr)")
        let lines = ran.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(ran.stderr)")
        #expect(ran.stderr.contains("The hub is unavailable"), "\(ran.stderr)")
        #expect(!ran.stderr.contains(HubServer.consumerToken))
        let created = try local.run(["create"])
        #expect(created.status == 4, "\(created.stderr)")
    }

    @Test func hubRestartedBetweenCommandsServesTheNextOne() throws {
        let (id, hubId) = try local.create()
        let port = hub.port
        #expect(hub.stop() == 0)
        try hub.start(listen: "127.0.0.1:\(port)")
        let ran = try local.run(["exec", id, "--", "exit", "0"])
        #expect(ran.status == 0, "\(ran.stderr)")
        #expect(try local.run(["extend-ttl", id, "--duration", "30m"]).status == 0)
        #expect(try local.run(["destroy", id]).status == 0)
        #expect(try hub.sandbox(hubId)["state"] as? String == "destroyed")
    }

    /// The hub is killed while it serves the local host's extend (its backend hangs in set_timeout
    /// and says so on a FIFO), then started again on the same port: the extend itself succeeds
    /// locally (the backstop push is best effort and reports the hub unavailable), and the next
    /// commands work against the restarted hub.
    @Test func hubKilledMidOperationThenRestartedServesTheNextCommand() throws {
        let hanging = try HubServer(home: root + "/hanging", hang: ["set_timeout"])
        defer { hanging.stop() }
        try #require(mkfifo(hanging.home + "/ready", 0o600) == 0)
        try hanging.start()
        let host = try LocalHost(home: root + "/local2", hubURL: hanging.url)
        let (id, hubId) = try host.create()

        let fifo = open(hanging.home + "/ready", O_RDWR | O_CLOEXEC)   // O_RDWR: the open never blocks
        try #require(fifo >= 0)
        defer { close(fifo) }
        let finished = DispatchSemaphore(value: 0)
        let box = ResultBox()
        Thread.detachNewThread {
            box.result = try? host.run(["extend-ttl", id, "--duration", "1h"])
            finished.signal()
        }
        // The handshake: the hub's backend is inside set_timeout for our hub sandbox (bounded wait).
        let line = try #require(Self.readLine(fifo, timeout: 60), "the hub never reached set_timeout")
        #expect(line == hubId)
        let port = hanging.port
        hanging.kill()
        #expect(finished.wait(timeout: .now() + 60) == .success, "extend-ttl did not finish after the hub died")
        let extended = try #require(box.result)
        #expect(extended.status == 0, "\(extended.stderr)")
        #expect(extended.stderr.contains("unavailable") || extended.stderr.contains("The hub"), "\(extended.stderr)")

        try hanging.start(listen: "127.0.0.1:\(port)")
        let ran = try host.run(["exec", id, "--", "exit", "0"])
        #expect(ran.status == 0, "\(ran.stderr)")
        #expect(try host.run(["destroy", id]).status == 0)
        #expect(try hanging.sandbox(hubId)["state"] as? String == "destroyed")
    }

    /// One line from `fd`, waiting at most `timeout` seconds for it.
    static func readLine(_ fd: Int32, timeout: Int32) -> String? {
        var bytes: [UInt8] = []
        while true {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, timeout * 1000) == 1 else { return nil }
            var byte: UInt8 = 0
            guard read(fd, &byte, 1) == 1 else { return nil }
            if byte == 0x0a { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
    }

    @Test func aRefusedTokenNamesTheSecretNotTheToken() throws {
        let wrong = "not-the-hub-token-987654321"
        let other = try LocalHost(home: root + "/wrong", hubURL: hub.url, token: wrong)
        let created = try other.run(["create"])
        #expect(created.status != 0)
        #expect(created.stderr.contains("'finhub-token'"), "\(created.stderr)")
        #expect(!created.stderr.contains(wrong))
    }

    /// The local host creates, then "dies" (nothing local runs again): the hub's own sweep expires
    /// the sandbox at its backstop (the hub's `short` profile caps the TTL at 2s).
    @Test func theHubsBackstopExpiresASandboxWhoseHostDied() throws {
        let (_, hubId) = try local.create(profile: "short")
        var since = 0
        var types: [String] = []
        for _ in 0..<6 where !types.contains("expired") {
            let page = try hub.call("GET", "/v1/events?sandbox=\(hubId)&since=\(since)&wait=10")
            #expect(page.status == 200)
            for event in page.json["events"] as? [[String: Any]] ?? [] { types.append(event["type"] as? String ?? "?") }
            since = page.json["next_since"] as? Int ?? since
        }
        #expect(types.contains("expired"), "events seen: \(types)")
    }

    @Test func reachPassesTheHubsEndpointsThrough() throws {
        let (id, _) = try local.create(profile: "net")
        let reach = try local.run(["reach", id, "--json"])
        #expect(reach.status == 0, "\(reach.stderr)")
        let endpoints = try #require(try reach.object()["endpoints"] as? [[String: Any]], "\(reach.stdout)")
        #expect(endpoints.count == 1)
        #expect(endpoints.first?["target_port"] as? Int == 8080)
        #expect(endpoints.first?["port"] as? Int == HubServer.endpointPort)
        #expect(endpoints.first?["host"] as? String == "127.0.0.1")
        #expect(try local.run(["destroy", id]).status == 0)
    }

    /// The result of a CLI run on another thread.
    final class ResultBox: @unchecked Sendable {
        // @unchecked: written once by the runner thread before the semaphore signals, read after.
        var result: CLIResult?
    }

    static func date(_ text: String) -> Date? { ISO8601DateFormatter().date(from: text) }
}
