import Foundation
import Glibc
import Testing

/// fin-hub when the hub dies mid-operation, and reap-stale seen from the hub's side: what the local
/// host federated there is the hub's own live sandboxes, never its orphans.
@Suite(.serialized, .enabled(if: Products.built, "needs the built sandboxer, libSandboxerFinHub.so and libSandboxerTestPlugin.so (swift build)"))
final class FinHubRecoveryEndToEndTests {
    let root: String

    init() {
        root = NSTemporaryDirectory() + "sandboxer-finhub-rec-" + UUID().uuidString.prefix(8).lowercased()
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// The hub is killed (SIGKILL) while its backend is inside `create` for us: the local create
    /// fails as unavailable in one line, the local row ends `failed` with a reason, and once the hub
    /// is back its own reconcile ends its half-made sandbox; neither side keeps anything live.
    @Test func hubKilledMidCreateLeavesNothingLiveOnEitherSide() throws {
        let hub = try HubServer(home: root + "/hub", hang: ["create"])
        defer { hub.stop() }
        try #require(mkfifo(hub.home + "/ready", 0o600) == 0)
        try hub.start()
        let local = try LocalHost(home: root + "/local", hubURL: hub.url)
        let fifo = open(hub.home + "/ready", O_RDWR | O_CLOEXEC)   // O_RDWR: the open never blocks
        try #require(fifo >= 0)
        defer { close(fifo) }

        let finished = DispatchSemaphore(value: 0)
        let box = FinHubEndToEndTests.ResultBox()
        Thread.detachNewThread {
            box.result = try? local.run(["create", "--json"])
            finished.signal()
        }
        let hubId = try #require(FinHubEndToEndTests.readLine(fifo, timeout: 60), "the hub never reached create")
        let port = hub.port
        hub.kill()
        #expect(finished.wait(timeout: .now() + 120) == .success, "create did not finish after the hub died")
        let created = try #require(box.result)
        #expect(created.status == 4, "\(created.status) \(created.stderr)")
        #expect(created.stderr.split(separator: "\n").count == 1, "\(created.stderr)")
        #expect(!created.stderr.contains(HubServer.consumerToken))

        // Locally: one row, ended with a reason, nothing live.
        let listed = try local.run(["list", "--all", "--json"])
        let rows = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(rows.count == 1, "\(listed.stdout)")
        #expect(rows.first?["state"] as? String == "failed", "\(rows)")

        // The hub comes back: its start-up reconcile ends the create its dead owner left.
        try hub.start(listen: "127.0.0.1:\(port)")
        let onHub = try hub.sandbox(hubId)
        #expect(["failed", "destroyed"].contains(onHub["state"] as? String ?? "?"), "\(onHub)")
        let stale = try local.run(["reap-stale", "--json"])
        #expect(stale.status == 0, "\(stale.stderr)")
        #expect((try stale.object()["orphans"] as? [Any] ?? []).isEmpty, "\(stale.stdout)")
    }

    /// reap-stale on the hub sees our federated sandbox as its own live row (never an orphan), and
    /// reap-stale on our side sees it as ours: neither destroys it.
    @Test func reapStaleOnBothSidesKeepsAFederatedSandbox() throws {
        let hub = try HubServer(home: root + "/hub2")
        defer { hub.stop() }
        try hub.start()
        let local = try LocalHost(home: root + "/local2", hubURL: hub.url)
        let (id, hubId) = try local.create()

        let hubPlan = try hub.call("POST", "/v1/reap-stale?apply=true")
        #expect(hubPlan.status == 200, "\(hubPlan.json)")
        let hubOrphans = (hubPlan.json["orphans"] as? [[String: Any]] ?? []).compactMap { $0["backend_ref"] as? String }
        #expect(!hubOrphans.contains(hubId), "\(hubPlan.json)")
        #expect(try hub.sandbox(hubId)["state"] as? String == "ready")

        let ours = try local.run(["reap-stale", "--apply", "--json"])
        #expect(ours.status == 0, "\(ours.stderr)")
        #expect((try ours.object()["orphans"] as? [Any] ?? []).isEmpty, "\(ours.stdout)")
        #expect(try hub.sandbox(hubId)["state"] as? String == "ready")
        #expect(try local.run(["exec", id, "--", "exit", "0"]).status == 0)
        #expect(try local.run(["destroy", id]).status == 0)
        #expect(try hub.sandbox(hubId)["state"] as? String == "destroyed")
    }
}
