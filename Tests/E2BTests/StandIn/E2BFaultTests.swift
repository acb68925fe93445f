import Foundation
import Testing
import Backends
import PluginProtocol

/// Faults the stand-in injects, through the C ABI: each gives the right code and one clear line.
@Suite(.serialized, .enabled(if: StandIn.available, "needs python3 to run the E2B stand-in"))
struct E2BFaultTests {
    /// The error of `body`, which must fail.
    func failure(_ body: () throws -> Void) -> BackendError? {
        do { try body(); return nil } catch let error as BackendError { return error } catch { return nil }
    }

    func expectOneLine(_ error: BackendError?, _ operation: String, _ sandbox: String, _ standIn: StandIn,
                       sourceLocation: SourceLocation = #_sourceLocation) {
        guard let error else { Issue.record("the call did not fail", sourceLocation: sourceLocation); return }
        #expect(!error.message.contains("\n"), "\(error.message)", sourceLocation: sourceLocation)
        #expect(error.message.hasPrefix("E2B \(operation) of sandbox \(sandbox) failed: "), "\(error.message)", sourceLocation: sourceLocation)
        #expect(!error.message.contains(standIn.apiKey), sourceLocation: sourceLocation)
    }

    @Test func rateLimitWithRetryAfterIsWaitedOutAndRetriedWithTheSameKey() throws {
        let standIn = try StandIn()
        let backend = try LoadedE2B.backend(standIn)
        try standIn.fault(["action": "status", "status": 429, "retryAfter": 1, "path": "^/v2/sandboxes$", "method": "POST", "count": 1])
        let started = Date()
        let request = E2BPluginTests.createRequest()
        let ref = try backend.create(request, timeout: 60).backendRef
        #expect(Date().timeIntervalSince(started) >= 1, "Retry-After was not honoured")
        #expect(try standIn.calls("POST /v2/sandboxes") == 2)
        #expect(try standIn.live().map { $0["sandboxID"] as? String } == [ref])
    }

    @Test func anAnswerLostAfterTheCreateRanIsRetriedWithoutMakingTwo() throws {
        let standIn = try StandIn()
        let backend = try LoadedE2B.backend(standIn)
        // The gateway fails after the sandbox was made: the retry's Idempotency-Key finds it.
        try standIn.fault(["action": "status", "status": 503, "execute": true, "path": "^/v2/sandboxes$", "method": "POST"])
        let ref = try backend.create(E2BPluginTests.createRequest(), timeout: 60).backendRef
        #expect(try standIn.calls("POST /v2/sandboxes") == 2)
        #expect(try standIn.live().map { $0["sandboxID"] as? String } == [ref])
    }

    @Test func aServerErrorIsUnavailableThenTheNextCallSucceeds() throws {
        let standIn = try StandIn()
        let backend = try LoadedE2B.backend(standIn)
        try standIn.fault(["action": "status", "status": 500, "path": "^/v2/sandboxes$", "method": "POST", "message": "boom\nsecond line"])
        let request = E2BPluginTests.createRequest()
        let error = failure { _ = try backend.create(request, timeout: 60) }
        #expect(error?.code == .unavailable)
        expectOneLine(error, "create", request.sandboxId, standIn)
        #expect(error?.message.contains("HTTP 500") == true)
        #expect(try standIn.calls("POST /v2/sandboxes") == 1, "a 500 is not retried")
        #expect(try backend.create(request, timeout: 60).backendRef.isEmpty == false)
    }

    @Test func aRefusedKeyIsAConfigErrorThatNeverQuotesTheKey() throws {
        let standIn = try StandIn()
        let wrong = "e2b_wrong_" + UUID().uuidString
        let backend = try LoadedE2B.backend(standIn, key: wrong)
        let request = E2BPluginTests.createRequest()
        let error = failure { _ = try backend.create(request, timeout: 60) }
        #expect(error?.code == .invalidRequest)
        expectOneLine(error, "create", request.sandboxId, standIn)
        #expect(error?.message.contains("refused the key") == true)
        #expect(error?.message.contains(wrong) == false)
        #expect(!LoadedE2B.allLogs().contains(wrong))
        #expect(try standIn.calls("POST /v2/sandboxes") == 1, "a refused key is not retried")
    }

    @Test func aMissingSecretSaysWhichNameTheHostLacks() throws {
        let standIn = try StandIn()
        let backend = try LoadedE2B.backend(standIn, extra: ["api_key_secret": .string("nobody-set-this")])
        let error = failure { _ = try backend.create(E2BPluginTests.createRequest(), timeout: 60) }
        #expect(error?.code == .invalidRequest)
        #expect(error?.message.contains("'nobody-set-this'") == true)
        #expect(try standIn.calls("POST /v2/sandboxes") == 0)
    }

    @Test func malformedJSONIsAnInternalErrorAndTheSandboxIsFoundByItsLabel() throws {
        let standIn = try StandIn()
        let backend = try LoadedE2B.backend(standIn)
        try standIn.fault(["action": "malformed", "path": "^/v2/sandboxes$", "method": "POST"])
        let request = E2BPluginTests.createRequest()
        let error = failure { _ = try backend.create(request, timeout: 60) }
        #expect(error?.code == .internal)
        expectOneLine(error, "create", request.sandboxId, standIn)
        // The host then destroys by its own id: the plugin finds what E2B made by the label.
        #expect(try standIn.live().count == 1)
        try backend.destroy(SandboxRef(sandboxId: request.sandboxId, backendRef: request.sandboxId), timeout: 30)
        #expect(try standIn.live().isEmpty)
        #expect(failure { try backend.destroy(SandboxRef(sandboxId: request.sandboxId, backendRef: request.sandboxId), timeout: 30) }?.code == .notFound)
    }

    @Test func aSlowAnswerTimesTheCallOutAndThePluginStops() throws {
        let standIn = try StandIn()
        let backend = try LoadedE2B.backend(standIn)
        let request = E2BPluginTests.createRequest()
        let ref = try backend.create(request, timeout: 60).backendRef
        try standIn.fault(["action": "delay", "delayMs": 8000, "path": "^/sandboxes/", "method": "GET"])
        let started = Date()
        let error = failure { _ = try backend.status(SandboxRef(sandboxId: request.sandboxId, backendRef: ref), timeout: 1) }
        #expect(error?.code == .timeout)
        #expect(Date().timeIntervalSince(started) < 5)
        // Gateway timeouts are retried; after the retries it is unavailable.
        try standIn.fault(["action": "status", "status": 504, "path": "^/sandboxes/", "method": "GET", "count": 10])
        let gateway = failure { _ = try backend.status(SandboxRef(sandboxId: request.sandboxId, backendRef: ref), timeout: 60) }
        #expect(gateway?.code == .unavailable)
        expectOneLine(gateway, "status", request.sandboxId, standIn)
    }

    @Test func aTruncatedOrCutProcessStreamIsAnErrorNotAnExitCode() throws {
        let standIn = try StandIn()
        let backend = try LoadedE2B.backend(standIn)
        let request = E2BPluginTests.createRequest()
        let ref = try backend.create(request, timeout: 60).backendRef
        try standIn.fault(["action": "truncate", "path": "^/process.Process/Start$", "server": "envd"])
        let truncated = failure { _ = try E2BPluginTests.exec(backend, ref, ["echo", "hi"]) }
        #expect(truncated?.code == .unavailable)
        expectOneLine(truncated, "exec", "sbx-x", standIn)
        #expect(truncated?.message.contains("ended without its end-of-stream message") == true)

        try standIn.fault(["action": "drop", "path": "^/process.Process/Start$", "server": "envd"])
        let dropped = failure { _ = try E2BPluginTests.exec(backend, ref, ["sh", "-c", "echo a; echo b; echo c"]) }
        #expect(dropped?.code == .unavailable)
        expectOneLine(dropped, "exec", "sbx-x", standIn)

        try standIn.fault(["action": "malformed", "path": "^/process.Process/Start$", "server": "envd"])
        let malformed = failure { _ = try E2BPluginTests.exec(backend, ref, ["true"]) }
        #expect(malformed?.code == .internal)
        expectOneLine(malformed, "exec", "sbx-x", standIn)

        // The sandbox killed while a command runs: its stream is cut without an end event.
        let running = ExecThread { () throws(BackendError) -> ExecResponse in try E2BPluginTests.exec(backend, ref, ["sleep", "300"]) }
        #expect(try standIn.until { state in
            ((state["sandboxes"] as? [[String: Any]])?.first { $0["sandboxID"] as? String == ref }?["processes"] as? [Any])?.isEmpty == false
        })
        #expect(try standIn.request("DELETE", "/sandboxes/\(ref)", key: true).status == 204)
        let vanished = running.wait()
        #expect(vanished?.code == .notFound, "\(String(describing: vanished))")
        expectOneLine(vanished, "exec", "sbx-x", standIn)
    }

    @Test func aCommandThatCannotStartIsAnInvalidRequest() throws {
        let standIn = try StandIn()
        let backend = try LoadedE2B.backend(standIn)
        let ref = try backend.create(E2BPluginTests.createRequest(), timeout: 60).backendRef
        // A command that cannot start ends the stream with an error envelope.
        let missing = failure { _ = try E2BPluginTests.exec(backend, ref, ["/no/such/program"]) }
        #expect(missing?.code == .invalidRequest)
        expectOneLine(missing, "exec", "sbx-x", standIn)
        // And a healthy stream still works afterwards.
        #expect(try E2BPluginTests.exec(backend, ref, ["echo", "ok"]).stdout == Data("ok\n".utf8))
    }
}

/// Runs one exec on its own thread; `wait` returns its error (nil when it succeeded).
final class ExecThread: @unchecked Sendable {
    // @unchecked: `error` is written once by the thread before the semaphore signals.
    private var error: BackendError?
    private let done = DispatchSemaphore(value: 0)
    init(_ body: @escaping @Sendable () throws(BackendError) -> ExecResponse) {
        Thread.detachNewThread { [self] in
            do throws(BackendError) { _ = try body() } catch { self.error = error }
            done.signal()
        }
    }
    func wait() -> BackendError? { done.wait(); return error }
}
