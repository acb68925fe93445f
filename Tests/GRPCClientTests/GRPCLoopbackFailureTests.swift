import Foundation
import Glibc
@testable import GRPCClient
import Testing

/// What the client concludes itself: deadlines, cancellation, size limits, a refused connection,
/// and that no metadata value ever shows up in an error.
@Suite(.enabled(if: GRPCTestServer.isAvailable, "needs python3 with venv and PyPI (grpclib, see server/requirements.txt) for the loopback gRPC server"))
struct GRPCLoopbackFailureTests {
    let server: GRPCTestServer

    init() throws { server = try GRPCTestServer.shared.get() }

    func json(_ object: [String: Any]) -> [UInt8] {
        (try? JSONSerialization.data(withJSONObject: object)).map { Array($0) } ?? []
    }

    @Test func deadlineExceeded() throws {
        let client = try GRPCClient(url: server.url)
        let start = ContinuousClock.now
        do {
            _ = try client.unary("/test.Echo/Slow", request: [], options: GRPCCallOptions(timeout: 0.3))
            Issue.record("a call that never ends returned")
        } catch {
            #expect(error.code == .deadlineExceeded)
        }
        // The method never answers: only the deadline can have ended the call.
        #expect(ContinuousClock.now - start < .seconds(10))
        // The connection is still good for the next call.
        #expect(try client.unary("/test.Echo/Unary", request: [1], options: GRPCCallOptions(timeout: 10)).message == [1])
    }

    @Test func cancelledBeforeItStarts() throws {
        let client = try GRPCClient(url: server.url)
        #expect(throws: GRPCStatus(code: .cancelled, message: "The call to /test.Echo/Slow was cancelled.")) {
            try client.unary("/test.Echo/Slow", request: [], options: GRPCCallOptions(timeout: 30, isCancelled: { true }))
        }
    }

    @Test func cancelledWhileStreaming() throws {
        // The stream sends one message and then waits forever; the handler flips the flag the
        // progress callback polls. Only cancellation can end this call before its 60 s deadline.
        let client = try GRPCClient(url: server.url)
        let flag = Locked(false)
        var received = 0
        let start = ContinuousClock.now
        do {
            _ = try client.serverStreaming("/test.Echo/Stream", request: json(["count": 2, "wait": "never-\(UUID())"]),
                                           options: GRPCCallOptions(timeout: 60, isCancelled: { flag.value })) { _ in
                received += 1
                flag.update { $0 = true }
                return true
            }
            Issue.record("the stream ended without cancellation")
        } catch {
            #expect(error.code == .cancelled)
        }
        #expect(received == 1)
        #expect(ContinuousClock.now - start < .seconds(30))
    }

    @Test func handlerCanStopAStream() throws {
        let client = try GRPCClient(url: server.url)
        var received = 0
        do {
            _ = try client.serverStreaming("/test.Echo/Stream", request: json(["count": 1000]), options: GRPCCallOptions(timeout: 20)) { _ in
                received += 1
                return received < 3
            }
            Issue.record("the stream was not stopped")
        } catch {
            #expect(error.code == .cancelled)
            #expect(error.message.contains("stopped by its message handler"))
        }
        #expect(received == 3)
        #expect(try client.unary("/test.Echo/Unary", request: [2], options: GRPCCallOptions(timeout: 10)).message == [2])
    }

    @Test func messagesAboveTheCapAreRefused() throws {
        let client = try GRPCClient(url: server.url, configuration: GRPCClientConfiguration(maxMessageBytes: 1024))
        #expect(try client.unary("/test.Echo/Large", request: json(["size": 1024]), options: GRPCCallOptions(timeout: 10)).message.count == 1024)
        do {
            _ = try client.unary("/test.Echo/Large", request: json(["size": 4096]), options: GRPCCallOptions(timeout: 10))
            Issue.record("a 4096-byte message passed a 1024-byte cap")
        } catch {
            #expect(error.code == .resourceExhausted)
            #expect(error.message.contains("4096 bytes"))
        }
        // Outgoing too, before anything is sent.
        #expect(throws: GRPCStatus.self) {
            try client.unary("/test.Echo/Unary", request: [UInt8](repeating: 0, count: 1025), options: GRPCCallOptions(timeout: 10))
        }
    }

    @Test func defaultCapIsSixteenMebibytes() throws {
        #expect(GRPCClientConfiguration().maxMessageBytes == 16 << 20)
        let client = try GRPCClient(url: server.url)
        #expect(try client.unary("/test.Echo/Large", request: json(["size": 3 << 20]), options: GRPCCallOptions(timeout: 30)).message.count == 3 << 20)
    }

    @Test func refusedConnectionIsUnavailableAndKeepsSecretsOut() throws {
        let secret = "as-VerySecretTokenValue"
        let port = try closedLoopbackPort()
        let client = try GRPCClient(url: "http://127.0.0.1:\(port)", configuration: GRPCClientConfiguration(metadata: [("x-modal-token-secret", secret)]))
        do {
            _ = try client.unary("/modal.client.ModalClient/SandboxList", request: [], options: GRPCCallOptions(metadata: [("authorization", "Bearer \(secret)")], timeout: 5))
            Issue.record("a call to a closed port succeeded")
        } catch {
            #expect(error.code == .unavailable)
            #expect(error.message.contains("127.0.0.1:\(port)"))
            #expect(!error.description.contains("VerySecret"))
            #expect(!String(describing: error).contains("VerySecret"))
        }
    }

    @Test func secretsStayOutOfServerAndDeadlineErrors() throws {
        let secret = "as-AnotherSecretValue"
        let client = try GRPCClient(url: server.url, configuration: GRPCClientConfiguration(metadata: [("x-modal-token-secret", secret)]))
        for (path, request, timeout) in [("/test.Echo/Slow", [UInt8](), 0.2), ("/test.Echo/Status", json(["code": 16, "message": "bad token"]), 10)] {
            do {
                _ = try client.unary(path, request: request, options: GRPCCallOptions(metadata: [("x-other", secret)], timeout: timeout))
                Issue.record("\(path) succeeded")
            } catch {
                #expect(!String(describing: error).contains("AnotherSecret"))
            }
        }
    }

    /// A loopback port nothing listens on: bound by us, then closed.
    func closedLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        try #require(bound)
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
