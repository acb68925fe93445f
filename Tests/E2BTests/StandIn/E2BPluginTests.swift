import Foundation
import Testing
import Backends
import PluginProtocol

/// libSandboxerE2B.so through the C ABI against the stand-in: every operation, end to end.
@Suite(.serialized, .enabled(if: StandIn.available, "needs python3 to run the E2B stand-in"))
struct E2BPluginTests {
    static func createRequest(_ sandboxId: String = "sbx-" + String(format: "%016llx", UInt64.random(in: 0...UInt64.max)),
                              host: String = "host-plugin-tests", timeout: Int64? = 600, env: [String: String] = [:]) -> CreateRequest {
        CreateRequest(sandboxId: sandboxId, hostId: host, profile: "default", image: nil, resources: ResourceLimits(),
                      network: "none", env: env, labels: ["sandboxer.host": host, "sandboxer.sandbox": sandboxId,
                                                          "sandboxer.profile": "default", "team": "a b/c=d"],
                      timeoutSeconds: timeout)
    }

    static func exec(_ backend: Backend, _ ref: String, _ argv: [String], stdin: String? = nil, timeout: Int64? = nil,
                     env: [String: String] = [:]) throws(BackendError) -> ExecResponse {
        try backend.exec(ExecRequest(sandboxId: "sbx-x", backendRef: ref, argv: argv, env: env,
                                     stdinB64: stdin.map { Data($0.utf8).base64EncodedString() }, timeoutSeconds: timeout), timeout: 60)
    }

    @Test func describeDeclaresEveryCapabilityWithoutContactingE2B() throws {
        let standIn = try StandIn()
        let backend = try LoadedE2B.backend(standIn)
        let described = try backend.describe(timeout: 10)
        #expect(described.name == "e2b")
        #expect(Set(described.capabilities) == ["sandboxer.lifecycle/1", "sandboxer.exec/1", "sandboxer.inventory/1",
                                                "sandboxer.timeout/1", "sandboxer.snapshot/1", "sandboxer.reach/1"])
        let calls = (try standIn.state()["calls"] as? [String: Any] ?? [:]).keys.filter { !$0.contains("/_standin/") }
        #expect(calls.isEmpty, "describe called the API: \(calls)")
    }

    @Test func lifecycleExecTimeoutInventoryAndDestroy() throws {
        let standIn = try StandIn()
        let backend = try LoadedE2B.backend(standIn)
        let request = Self.createRequest(env: ["GREETING": "hello"])
        let created = try backend.create(request, timeout: 60)
        let ref = created.backendRef
        let sandbox = try #require(try standIn.sandbox(ref))
        // Labels travel as metadata; the timeout is the host's, the envVars the profile's.
        #expect(sandbox["metadata"] as? [String: String] == request.labels)
        #expect(sandbox["timeout"] as? Int == 600)
        #expect(sandbox["envVarNames"] as? [String] == ["GREETING"])
        let key = try #require(standIn.state()["idempotencyKeys"] as? [String: String])
        #expect(key.count == 1 && key.keys.first?.hasPrefix(request.sandboxId + "-") == true && key.values.first == ref)
        // The API key went in X-API-Key and nowhere else.
        #expect(!LoadedE2B.allLogs().contains(standIn.apiKey))

        #expect(try backend.status(SandboxRef(sandboxId: request.sandboxId, backendRef: ref), timeout: 30).state == "running")

        let uname = try Self.exec(backend, ref, ["uname"])
        #expect(uname.exitCode == 0 && String(decoding: uname.stdout, as: UTF8.self) == "Linux\n" && !uname.timedOut)
        let seven = try Self.exec(backend, ref, ["sh", "-c", "echo out; echo err >&2; exit 7"])
        #expect(seven.exitCode == 7)
        #expect(String(decoding: seven.stdout, as: UTF8.self) == "out\n")
        #expect(String(decoding: seven.stderr, as: UTF8.self) == "err\n")
        let cat = try Self.exec(backend, ref, ["sh", "-c", "cat; echo \"$GREETING $EXTRA\""], stdin: "from stdin\n", env: ["EXTRA": "there"])
        #expect(String(decoding: cat.stdout, as: UTF8.self) == "from stdin\nhello there\n")
        let big = String(repeating: "0123456789abcdef", count: 40_000)  // 640 KB: several SendInput pieces
        #expect(String(decoding: try Self.exec(backend, ref, ["wc", "-c"], stdin: big).stdout, as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines) == String(big.utf8.count))
        #expect(try Self.exec(backend, ref, ["sh", "-c", "kill -9 $$"]).exitCode == 137)

        // A command past its timeout is killed (SIGKILL through SendSignal) and reported as timed out.
        let slow = try Self.exec(backend, ref, ["sh", "-c", "echo started; exec sleep 300"], timeout: 1)
        #expect(slow.timedOut && slow.exitCode == 137)
        #expect(String(decoding: slow.stdout, as: UTF8.self) == "started\n")
        #expect(try standIn.calls("POST /process.Process/SendSignal") == 1)
        #expect(try standIn.until { state in
            ((state["sandboxes"] as? [[String: Any]])?.first { $0["sandboxID"] as? String == ref }?["processes"] as? [Any])?.isEmpty ?? false
        }, "the timed-out command still runs")

        // set_timeout overwrites E2B's deadline with the whole remaining time (it can shorten it).
        try backend.setTimeout(SetTimeoutRequest(sandboxId: request.sandboxId, backendRef: ref, timeoutSeconds: 7200), timeout: 30)
        #expect(try standIn.sandbox(ref)?["timeout"] as? Int == 7200)
        try backend.setTimeout(SetTimeoutRequest(sandboxId: request.sandboxId, backendRef: ref, timeoutSeconds: 100), timeout: 30)
        let left = try #require(try standIn.sandbox(ref)?["secondsLeft"] as? Double)
        #expect(left <= 100 && left > 90)
        // Above the plan's cap it is capped, not refused.
        try backend.setTimeout(SetTimeoutRequest(sandboxId: request.sandboxId, backendRef: ref, timeoutSeconds: 10 * 86_400), timeout: 30)
        #expect(try standIn.sandbox(ref)?["timeout"] as? Int == 86_400)

        // Inventory: only this host's sandboxes, with all their labels; every page is read.
        let foreign = try standIn.createDirect(metadata: ["sandboxer.host": "someone-else"])
        var mine = [ref]
        // 130 in all: two pages of at most 100, joined through X-Next-Token.
        for _ in 0..<129 { mine.append(try standIn.createDirect(metadata: ["sandboxer.host": request.hostId])) }
        let inventory = try backend.inventory(InventoryRequest(hostId: request.hostId), timeout: 30)
        #expect(inventory.resources.count == mine.count)
        #expect(Set(inventory.resources.map(\.backendRef)) == Set(mine))
        #expect(try standIn.calls("GET /v2/sandboxes") == 2)
        #expect(inventory.resources.first { $0.backendRef == ref }?.sandboxId == request.sandboxId)
        #expect(inventory.resources.first { $0.backendRef == ref }?.labels == request.labels)
        #expect(inventory.resources.allSatisfy { ($0.createdAtMs ?? 0) > 0 })
        _ = foreign

        try backend.destroy(SandboxRef(sandboxId: request.sandboxId, backendRef: ref), timeout: 30)
        #expect(try standIn.sandbox(ref) == nil)
        #expect(throws: BackendError.self) { try backend.destroy(SandboxRef(sandboxId: request.sandboxId, backendRef: ref), timeout: 30) }
        do {
            _ = try backend.status(SandboxRef(sandboxId: request.sandboxId, backendRef: ref), timeout: 30)
            Issue.record("status of a destroyed sandbox succeeded")
        } catch {
            #expect(error.code == .notFound)
            #expect(error.message.contains("status of sandbox \(request.sandboxId)"))
        }
        do {
            _ = try Self.exec(backend, ref, ["true"])
            Issue.record("exec in a destroyed sandbox succeeded")
        } catch { #expect(error.code == .notFound, "\(error)") }
    }

    @Test func snapshotRestoreAndDeleteSnapshot() throws {
        let standIn = try StandIn()
        let backend = try LoadedE2B.backend(standIn)
        let request = Self.createRequest()
        let ref = try backend.create(request, timeout: 60).backendRef
        #expect(try Self.exec(backend, ref, ["sh", "-c", "echo kept > state.txt"]).exitCode == 0)
        let snapshotId = "snap-" + String(format: "%016llx", UInt64.random(in: 0...UInt64.max))
        let snap = try backend.snapshot(SnapshotRequest(sandboxId: request.sandboxId, backendRef: ref, snapshotId: snapshotId,
                                                        labels: request.labels), timeout: 60)
        #expect(snap.snapshotRef.contains(snapshotId))
        // The source keeps running.
        #expect(try Self.exec(backend, ref, ["cat", "state.txt"]).stdout == Data("kept\n".utf8))

        let copy = Self.createRequest()
        let restored = try backend.restore(RestoreRequest(create: copy, snapshotRef: snap.snapshotRef), timeout: 60)
        #expect(restored.backendRef != ref)
        #expect(try Self.exec(backend, restored.backendRef, ["cat", "state.txt"]).stdout == Data("kept\n".utf8))
        #expect(try standIn.sandbox(restored.backendRef)?["metadata"] as? [String: String] == copy.labels)

        try backend.deleteSnapshot(DeleteSnapshotRequest(snapshotId: snapshotId, snapshotRef: snap.snapshotRef), timeout: 30)
        do {
            try backend.deleteSnapshot(DeleteSnapshotRequest(snapshotId: snapshotId, snapshotRef: snap.snapshotRef), timeout: 30)
            Issue.record("deleting a deleted snapshot succeeded")
        } catch { #expect(error.code == .notFound) }
        do {
            _ = try backend.restore(RestoreRequest(create: Self.createRequest(), snapshotRef: snap.snapshotRef), timeout: 60)
            Issue.record("restoring a deleted snapshot succeeded")
        } catch { #expect(error.code == .notFound, "\(error)") }
    }

    @Test func endpointsDescribeEachPortWithoutTheSecret() throws {
        let standIn = try StandIn()
        let backend = try LoadedE2B.backend(standIn)
        let request = Self.createRequest()
        let ref = try backend.create(request, timeout: 60).backendRef
        let before = try #require(try standIn.sandbox(ref)?["endAt"] as? String)
        let body = try JSONSerialization.data(withJSONObject: ["sandbox_id": request.sandboxId, "backend_ref": ref, "ports": [3000, 8080]])
        let answer = try backend.invoke("endpoints", body, timeout: 30)
        let object = try #require(try JSONSerialization.jsonObject(with: answer) as? [String: Any])
        let endpoints = try #require(object["endpoints"] as? [[String: Any]])
        #expect(endpoints.count == 2)
        let first = endpoints[0]
        #expect(first["kind"] as? String == "https")
        #expect(first["target_port"] as? Int == 3000)
        #expect(first["host"] as? String == "3000-\(ref).e2b.test")
        #expect(first["port"] as? Int == 443)
        #expect(first["url"] as? String == "https://3000-\(ref).e2b.test")
        #expect(first["tls"] as? Bool == true)
        // The stand-in answers trafficAccessToken: null, so no auth is needed.
        #expect((first["auth"] as? [String: Any])?["scheme"] as? String == "none")
        // Asking changed nothing: the deadline stays where it was.
        #expect(try standIn.sandbox(ref)?["endAt"] as? String == before)
        do {
            _ = try backend.invoke("endpoints", Data(#"{"sandbox_id":"s","backend_ref":"\#(ref)","ports":[0]}"#.utf8), timeout: 30)
            Issue.record("port 0 was accepted")
        } catch { #expect(error.code == .invalidRequest) }
    }
}
