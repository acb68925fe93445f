import Foundation
import Glibc
import Testing
import Backends
import PluginProtocol

/// The Modal plugin loaded through the C ABI, against the stand-in that Modal's official client
/// passes. Skipped (with the reason) when the stand-in's venv cannot be made: no python3-venv or PyPI.
@Suite(.enabled(if: StandIn.available, "needs the Modal stand-in's venv (python3-venv and PyPI once): \(StandIn.unavailableReason ?? "")"),
       .serialized)
struct ModalPluginTests {
    @Test func describeDeclaresNoTimeoutCapability() throws {
        let standIn = try StandIn()
        let modal = try ModalHarness(standIn: standIn)
        let caps = modal.backend.capabilities
        #expect(Set(caps) == [Capability.lifecycle, Capability.exec, Capability.inventory, Capability.snapshot, "sandboxer.reach/1"])
        #expect(!caps.contains(Capability.timeout))
    }

    @Test func createExecStatusDestroy() throws {
        let standIn = try StandIn()
        let modal = try ModalHarness(standIn: standIn)
        let request = ModalHarness.createRequest(latest: 7_260, idle: 1_860, env: ["GREETING": "hello"])
        let created = try modal.backend.create(request, timeout: 60)
        let ref = created.backendRef
        #expect(ref.hasPrefix("sb-"))

        // The stand-in holds the backstop at the profile's latest deadline, the idle timeout and our labels.
        let record = try #require(try standIn.sandbox(ref))
        #expect(record["timeout_secs"] as? Int == 7_260)
        #expect(record["idle_timeout_secs"] as? Int == 1_860)
        #expect(record["tags"] as? [String: String] == request.labels)
        #expect(record["entrypoint"] as? [String] == ["sleep", "infinity"])

        let sandbox = SandboxRef(sandboxId: request.sandboxId, backendRef: ref)
        let run = try modal.backend.exec(ExecRequest(sandboxId: request.sandboxId, backendRef: ref,
                                                     argv: ["sh", "-c", "echo out $GREETING $EXTRA; echo err >&2; exit 3"],
                                                     env: ["EXTRA": "x"]), timeout: 60)
        #expect(run.exitCode == 3)
        #expect(String(decoding: run.stdout, as: UTF8.self) == "out hello x\n")
        #expect(String(decoding: run.stderr, as: UTF8.self) == "err\n")
        #expect(!run.timedOut)

        // Stdin, larger than one write chunk, arrives whole.
        let input = Data((0..<(1 << 20) + 777).map { UInt8(truncatingIfNeeded: $0 % 251) })
        let cat = try modal.backend.exec(ExecRequest(sandboxId: request.sandboxId, backendRef: ref, argv: ["cat"],
                                                     stdinB64: input.base64EncodedString()), timeout: 60)
        #expect(cat.exitCode == 0)
        #expect(cat.stdout == input)

        #expect(try modal.backend.status(sandbox, timeout: 30).state == "running")
        try modal.backend.destroy(sandbox, timeout: 30)
        let after = try modal.backend.status(sandbox, timeout: 30)
        #expect(after.state == "stopped")
        #expect(after.info["result"] == .string("terminated"))
        // Destroy is idempotent: already ended counts as done.
        try modal.backend.destroy(sandbox, timeout: 30)
        let missing = SandboxRef(sandboxId: request.sandboxId, backendRef: "sb-0000000000000000000000")
        #expect { try modal.backend.status(missing, timeout: 30) } throws: { ($0 as? BackendError)?.code == .notFound }
    }

    @Test func execTimeoutKillsTheCommand() throws {
        let standIn = try StandIn()
        let modal = try ModalHarness(standIn: standIn)
        let request = ModalHarness.createRequest()
        let ref = try modal.backend.create(request, timeout: 60).backendRef
        let run = try modal.backend.exec(ExecRequest(sandboxId: request.sandboxId, backendRef: ref,
                                                     argv: ["sh", "-c", "echo started; exec sleep 30"], timeoutSeconds: 1),
                                         timeout: 60)
        #expect(run.timedOut)
        #expect(run.exitCode == 137)
        #expect(String(decoding: run.stdout, as: UTF8.self) == "started\n")
    }

    @Test func inventoryWalksEveryPageAndOnlyOurHost() throws {
        let standIn = try StandIn(extraArguments: ["--list-page-size", "2"])
        let modal = try ModalHarness(standIn: standIn)
        var ours: Set<String> = []
        for _ in 0..<5 { ours.insert(try modal.backend.create(ModalHarness.createRequest(host: "host-a"), timeout: 60).backendRef) }
        let other = try modal.backend.create(ModalHarness.createRequest(host: "host-b"), timeout: 60).backendRef
        let items = try modal.backend.inventory(InventoryRequest(hostId: "host-a"), timeout: 60).resources
        #expect(Set(items.map(\.backendRef)) == ours)
        #expect(items.allSatisfy { $0.labels[OwnershipLabel.host] == "host-a" && $0.sandboxId?.hasPrefix("sbx-") == true })
        #expect(!items.map(\.backendRef).contains(other))
    }

    @Test func snapshotThenRestore() throws {
        let standIn = try StandIn()
        let modal = try ModalHarness(standIn: standIn)
        let request = ModalHarness.createRequest()
        let ref = try modal.backend.create(request, timeout: 60).backendRef
        let wrote = try modal.backend.exec(ExecRequest(sandboxId: request.sandboxId, backendRef: ref,
                                                       argv: ["sh", "-c", "echo kept > state.txt"]), timeout: 60)
        #expect(wrote.exitCode == 0)
        let snap = try modal.backend.snapshot(SnapshotRequest(sandboxId: request.sandboxId, backendRef: ref,
                                                              snapshotId: "snap-0000000000000001", labels: request.labels), timeout: 120)
        #expect(snap.snapshotRef.hasPrefix("im-"))
        try modal.backend.destroy(SandboxRef(sandboxId: request.sandboxId, backendRef: ref), timeout: 30)

        let restored = ModalHarness.createRequest()
        let newRef = try modal.backend.restore(RestoreRequest(create: restored, snapshotRef: snap.snapshotRef), timeout: 60).backendRef
        let read = try modal.backend.exec(ExecRequest(sandboxId: restored.sandboxId, backendRef: newRef, argv: ["cat", "state.txt"]), timeout: 60)
        #expect(String(decoding: read.stdout, as: UTF8.self) == "kept\n")
        try modal.backend.deleteSnapshot(DeleteSnapshotRequest(snapshotId: "snap-0000000000000001", snapshotRef: snap.snapshotRef), timeout: 30)
        #expect(modal.logged.contains { $0.contains("no call to delete image") })
    }

    @Test func endpointsFromTunnels() throws {
        let standIn = try StandIn()
        let modal = try ModalHarness(standIn: standIn, config: ["encrypted_ports": [8443], "unencrypted_ports": [5432]])
        let request = ModalHarness.createRequest()
        let ref = try modal.backend.create(request, timeout: 60).backendRef
        let body = try JSONSerialization.data(withJSONObject: ["sandbox_id": request.sandboxId, "backend_ref": ref, "ports": [5432, 8443]])
        let answer = try modal.backend.invoke("endpoints", body, timeout: 30)
        let endpoints = try #require((try JSONSerialization.jsonObject(with: answer) as? [String: Any])?["endpoints"] as? [[String: Any]])
        #expect(endpoints.count == 2)
        let tcp = endpoints[0], https = endpoints[1]
        #expect(tcp["kind"] as? String == "tcp")
        #expect(tcp["target_port"] as? Int == 5432)
        #expect(tcp["host"] as? String == "127.0.0.1")
        #expect(tcp["tls"] as? Bool == false)
        #expect(tcp["url"] == nil)
        #expect((tcp["auth"] as? [String: String]) == ["scheme": "none"])
        #expect(https["kind"] as? String == "https")
        #expect(https["tls"] as? Bool == true)
        let port = try #require(https["port"] as? Int)
        #expect(https["url"] as? String == "https://127.0.0.1:\(port)")

        let unknown = try JSONSerialization.data(withJSONObject: ["sandbox_id": request.sandboxId, "backend_ref": ref, "ports": [9999]])
        #expect { try modal.backend.invoke("endpoints", unknown, timeout: 30) } throws: { error in
            (error as? BackendError)?.code == .invalidRequest && "\(error)".contains("5432, 8443")
        }
    }
}
