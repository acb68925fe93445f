import Foundation
import Glibc
import Testing
import Backends
import PluginProtocol

/// Faults the stand-in injects, each with the outcome the issue asks for and one clear line.
@Suite(.enabled(if: StandIn.available, "needs the Modal stand-in's venv (python3-venv and PyPI once): \(StandIn.unavailableReason ?? "")"),
       .serialized)
struct ModalFaultTests {
    func backendError(_ body: () throws -> Void) -> BackendError? {
        do { try body(); return nil } catch { return error as? BackendError }
    }

    func runningSandboxes(_ standIn: StandIn) throws -> [[String: Any]] {
        (try standIn.state()["sandboxes"] as? [[String: Any]] ?? []).filter { $0["running"] as? Bool == true }
    }

    @Test func unavailableIsRetriedForIdempotentCallsThenReported() throws {
        let standIn = try StandIn()
        let modal = try ModalHarness(standIn: standIn)
        let request = ModalHarness.createRequest()
        let ref = try modal.backend.create(request, timeout: 60).backendRef
        let sandbox = SandboxRef(sandboxId: request.sandboxId, backendRef: ref)
        // One failure: the retry succeeds.
        let before = try standIn.calls("SandboxWait")
        try standIn.fault(["method": "SandboxWait", "action": "unavailable", "count": 1])
        #expect(try modal.backend.status(sandbox, timeout: 30).state == "running")
        #expect(try standIn.calls("SandboxWait") == before + 2)
        // A lasting outage: bounded attempts, then unavailable in one line.
        try standIn.fault(["method": "SandboxWait", "action": "unavailable", "count": 10])
        let error = try #require(backendError { _ = try modal.backend.status(sandbox, timeout: 30) })
        #expect(error.code == .unavailable)
        #expect(error.message.contains("UNAVAILABLE") && !error.message.contains("\n"))
        #expect(try standIn.calls("SandboxWait") == before + 2 + 3)
        try standIn.clearFaults()
    }

    @Test func createIsNeverRetriedAndQuotaIsReported() throws {
        let standIn = try StandIn()
        let modal = try ModalHarness(standIn: standIn)
        try standIn.fault(["method": "SandboxCreate", "action": "resource_exhausted", "count": 1, "retry_after_secs": 1])
        let error = try #require(backendError { _ = try modal.backend.create(ModalHarness.createRequest(), timeout: 60) })
        #expect(error.code == .quota)
        #expect(error.message.contains("RESOURCE_EXHAUSTED"))
        #expect(try standIn.calls("SandboxCreate") == 1)
        #expect(try runningSandboxes(standIn).isEmpty)
        try standIn.fault(["method": "SandboxCreate", "action": "unavailable", "count": 1])
        #expect(backendError { _ = try modal.backend.create(ModalHarness.createRequest(), timeout: 60) }?.code == .unavailable)
        #expect(try standIn.calls("SandboxCreate") == 2, "a create must not be retried: it is not idempotent")
    }

    @Test func aDroppedCreateAnswerIsCleanedUpByTheHostsDestroy() throws {
        let standIn = try StandIn()
        let modal = try ModalHarness(standIn: standIn)
        let request = ModalHarness.createRequest()
        // The create takes effect but its answer is lost (RST_STREAM).
        try standIn.fault(["method": "SandboxCreate", "action": "drop", "count": 1])
        let error = try #require(backendError { _ = try modal.backend.create(request, timeout: 60) })
        #expect(error.code == .unavailable)
        #expect(try standIn.calls("SandboxCreate") == 1, "a create must not be retried")
        #expect(try runningSandboxes(standIn).count == 1)
        // The host destroys by its own sandbox id when it never learned a backend ref.
        try modal.backend.destroy(SandboxRef(sandboxId: request.sandboxId, backendRef: request.sandboxId), timeout: 30)
        #expect(try runningSandboxes(standIn).isEmpty)
    }

    @Test func wrongCredentialsNameTheTokenIdNeverTheSecret() throws {
        let standIn = try StandIn()
        let secret = "as-wrong-secret-7f3a"
        let modal = try ModalHarness(standIn: standIn, secrets: ["modal-token-id": StandIn.tokenID, "modal-token-secret": secret])
        let error = try #require(backendError { _ = try modal.backend.create(ModalHarness.createRequest(), timeout: 60) })
        #expect(error.code == .invalidRequest)
        #expect(error.message.contains(StandIn.tokenID))
        #expect(!error.message.contains(secret))
        #expect(!modal.logged.joined().contains(secret))

        let missing = try ModalHarness(standIn: standIn, secrets: [:])
        let noSecret = try #require(backendError { _ = try missing.backend.inventory(InventoryRequest(hostId: "h"), timeout: 30) })
        #expect(noSecret.code == .invalidRequest)
        #expect(noSecret.message.contains("modal-token-id"))
    }

    @Test func aSlowAnswerPastTheCallDeadlineIsRetried() throws {
        let standIn = try StandIn()
        let modal = try ModalHarness(standIn: standIn, config: ["call_timeout_seconds": 1])
        let request = ModalHarness.createRequest()
        let ref = try modal.backend.create(request, timeout: 60).backendRef
        let before = try standIn.calls("SandboxWait")
        try standIn.fault(["method": "SandboxWait", "action": "delay", "delay_ms": 2500, "count": 1])
        #expect(try modal.backend.status(SandboxRef(sandboxId: request.sandboxId, backendRef: ref), timeout: 30).state == "running")
        #expect(try standIn.calls("SandboxWait") == before + 2)
    }

    @Test func aDroppedOutputStreamResumesFromItsOffset() throws {
        let standIn = try StandIn()
        let modal = try ModalHarness(standIn: standIn)
        let request = ModalHarness.createRequest()
        let ref = try modal.backend.create(request, timeout: 60).backendRef
        try standIn.fault(["method": "TaskExecStdioRead", "action": "drop", "count": 1, "after_messages": 1])
        let run = try modal.backend.exec(ExecRequest(sandboxId: request.sandboxId, backendRef: ref,
                                                     argv: ["sh", "-c", "head -c 300000 /dev/zero | tr '\\0' a"]), timeout: 60)
        #expect(run.exitCode == 0)
        #expect(run.stdout == Data(repeating: UInt8(ascii: "a"), count: 300_000))
        let outcomes = try standIn.state()["outcomes"] as? [String: [String: Int]]
        #expect(outcomes?["TaskExecStdioRead"]?["DROPPED"] == 1, "the fault must have fired: \(String(describing: outcomes))")
    }

    @Test func aSandboxModalEndedIsStoppedAndLeavesTheInventory() throws {
        let standIn = try StandIn()
        let modal = try ModalHarness(standIn: standIn)
        let request = ModalHarness.createRequest(host: "host-v")
        let ref = try modal.backend.create(request, timeout: 60).backendRef
        let pid = try #require(try standIn.sandbox(ref)?["entrypoint_pid"] as? Int32)
        kill(pid, SIGKILL)
        // The stand-in notices the entrypoint's end on its event loop: SandboxWait answers then.
        var state = "running"
        for _ in 0..<500 where state == "running" {
            state = try modal.backend.status(SandboxRef(sandboxId: request.sandboxId, backendRef: ref), timeout: 30).state
        }
        #expect(state == "stopped")
        #expect(try modal.backend.inventory(InventoryRequest(hostId: "host-v"), timeout: 30).resources.isEmpty)
    }
}
