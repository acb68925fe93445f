import Foundation
import Testing

/// fin-hub snapshots end to end, on a hub whose backend is LocalVM (the fake backend has no
/// snapshots): snapshot, create --from-snapshot, recreate (a later create of the same id), snapshot-rm.
@Suite(.serialized, .enabled(if: Products.built && getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/bin/busybox"),
                             "needs the built products, root and busybox-static for the hub's LocalVM backend"))
final class FinHubSnapshotEndToEndTests {
    let root: String
    let hub: HubServer
    let local: LocalHost

    init() throws {
        root = NSTemporaryDirectory() + "sandboxer-finhub-snap-" + UUID().uuidString.prefix(8).lowercased()
        hub = try HubServer(home: root + "/hub", backend: .localvm)
        try hub.start()
        local = try LocalHost(home: root + "/local", hubURL: hub.url)
    }

    deinit {
        for id in (try? local.run(["list", "--json"]).stdout).map(Self.ids) ?? [] { _ = try? local.run(["destroy", id]) }
        hub.stop()
        try? FileManager.default.removeItem(atPath: root)
    }

    static func ids(_ json: String) -> [String] {
        let list = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [[String: Any]] ?? []
        return list.compactMap { $0["id"] as? String }
    }

    @Test func snapshotRestoreRecreateAndDelete() throws {
        let (id, hubId) = try local.create()
        let wrote = try local.run(["exec", id, "--", "sh", "-c", "mkdir -p /work && echo kept > /work/file"])
        try #require(wrote.status == 0, "write failed: \(wrote.stderr)")

        let snap = try local.run(["snapshot", id, "--json"])
        try #require(snap.status == 0, "snapshot failed: \(snap.stderr)")
        let snapId = try #require(try snap.object()["id"] as? String)
        let hubSnap = try #require(try snap.object()["backend_ref"] as? String)
        let onHub = try hub.call("GET", "/v1/snapshots/\(hubSnap)")
        #expect(onHub.status == 200 && onHub.json["name"] as? String == "finhub-\(snapId)", "\(onHub)")

        let restored = try local.run(["create", "--from-snapshot", snapId, "--json"])
        try #require(restored.status == 0, "create --from-snapshot failed: \(restored.stderr)")
        let restoredId = try #require(try restored.object()["id"] as? String)
        #expect(try local.run(["exec", restoredId, "--", "cat", "/work/file"]).stdout == "kept\n")

        // A fresh recreate is a later create of the same sandbox id: it must get a new hub sandbox,
        // not the replay of the first create's Idempotency-Key.
        let recreated = try local.run(["recreate", id, "--json"])
        try #require(recreated.status == 0, "recreate failed: \(recreated.stderr)")
        let newHubId = try #require(try recreated.object()["backend_ref"] as? String)
        #expect(newHubId != hubId)
        #expect(try hub.sandbox(newHubId)["state"] as? String == "ready")
        #expect(try local.run(["exec", id, "--", "cat", "/work/file"]).status != 0, "a fresh instance has no /work/file")

        #expect(try local.run(["destroy", restoredId]).status == 0)
        #expect(try local.run(["destroy", id]).status == 0)
        let removed = try local.run(["snapshot-rm", snapId])
        #expect(removed.status == 0, "\(removed.stderr)")
        let gone = try hub.call("GET", "/v1/snapshots/\(hubSnap)")
        #expect(gone.status == 404 || gone.json["state"] as? String == "deleted", "\(gone)")
    }
}
