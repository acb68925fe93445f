import Foundation
@testable import GRPCClient
import Testing

/// Calls against a real gRPC server (grpclib) on 127.0.0.1: echo, metadata, connection reuse,
/// server streams, and statuses in trailers and trailers-only answers.
@Suite(.enabled(if: GRPCTestServer.isAvailable, "needs python3 with venv and PyPI (grpclib, see server/requirements.txt) for the loopback gRPC server"))
struct GRPCLoopbackTests {
    let server: GRPCTestServer

    init() throws { server = try GRPCTestServer.shared.get() }

    /// A per-test tag so the server's call records can be told apart between parallel tests.
    static func tag() -> String { "t-\(UUID().uuidString)" }

    func json(_ object: [String: Any]) -> [UInt8] {
        (try? JSONSerialization.data(withJSONObject: object)).map { Array($0) } ?? []
    }

    /// The server's records of the calls carrying `tag`.
    func recordedCalls(_ client: GRPCClient, tag: String) throws -> [[String: Any]] {
        let response = try client.unary("/test.Echo/Calls", request: json(["tag": tag]), options: GRPCCallOptions(timeout: 10))
        return try #require(try JSONSerialization.jsonObject(with: Data(response.message)) as? [[String: Any]])
    }

    @Test func unaryEchoesBytes() throws {
        let client = try GRPCClient(url: server.url)
        let payload: [UInt8] = [0x0a, 0x06] + Array("sb-xyz".utf8) + [0, 0xFF]
        let response = try client.unary("/test.Echo/Unary", request: payload, options: GRPCCallOptions(timeout: 10))
        #expect(response.message == payload)
        #expect(response.headers.value(of: "content-type")?.hasPrefix("application/grpc") == true)
        #expect(response.trailers.value(of: "grpc-status") == "0")
        // Empty request, empty answer.
        #expect(try client.unary("/test.Echo/Unary", request: [], options: GRPCCallOptions(timeout: 10)).message == [])
    }

    @Test func metadataDeadlineAndUserAgentReachTheServer() throws {
        let tag = Self.tag()
        let client = try GRPCClient(url: server.url, configuration: GRPCClientConfiguration(
            metadata: [("x-modal-client-type", "sandboxer")], userAgent: "grpc-sandboxer-test/1"))
        _ = try client.unary("/test.Echo/Unary", request: [1], options: GRPCCallOptions(
            metadata: [("x-test-tag", tag), ("X-Modal-Token-Id", "ak-123"), ("trace-bin", "AAEC")], timeout: 30))
        let calls = try recordedCalls(client, tag: tag)
        let call = try #require(calls.first)
        #expect(calls.count == 1)
        #expect(call["method"] as? String == "/test.Echo/Unary")
        let metadata = try #require(call["metadata"] as? [[String]])
        #expect(metadata.contains(["x-modal-client-type", "sandboxer"]))
        #expect(metadata.contains(["x-modal-token-id", "ak-123"]))       // lower-cased
        #expect(metadata.contains(["trace-bin", "000102"]))               // base64 decoded by the server
        #expect(call["user_agent"] as? String == "grpc-sandboxer-test/1")
        #expect(call["content_type"] as? String == "application/grpc")
        let remaining = try #require(call["timeout"] as? Double)
        #expect(remaining > 20 && remaining <= 30)
    }

    @Test func tenSequentialCallsShareOneConnection() throws {
        let tag = Self.tag()
        let client = try GRPCClient(url: server.url)
        for index in 0..<10 {
            let response = try client.unary("/test.Echo/Unary", request: [UInt8(index)],
                                            options: GRPCCallOptions(metadata: [("x-test-tag", tag)], timeout: 10))
            #expect(response.message == [UInt8(index)])
        }
        #expect(client.connectionsOpened == 1)
        let ports = Set(try recordedCalls(client, tag: tag).compactMap { $0["peer_port"] as? Int })
        #expect(ports.count == 1, "the server saw the 10 calls on \(ports.count) connections")
        #expect(client.connectionsOpened == 1)
        // A second client is a second connection.
        let other = try GRPCClient(url: server.url)
        _ = try other.unary("/test.Echo/Unary", request: [], options: GRPCCallOptions(metadata: [("x-test-tag", tag)], timeout: 10))
        #expect(Set(try recordedCalls(client, tag: tag).compactMap { $0["peer_port"] as? Int }).count == 2)
    }

    @Test func aClosedConnectionIsReplaced() throws {
        let name = Self.tag()
        let client = try GRPCClient(url: server.url)
        _ = try client.unary("/test.Echo/Hangup", request: json(["name": name]), options: GRPCCallOptions(timeout: 10))
        // On another connection: the server closes the first one and answers once it is closed.
        _ = try GRPCClient(url: server.url).unary("/test.Echo/AwaitHangup", request: json(["name": name]), options: GRPCCallOptions(timeout: 10))
        for index in 0..<3 {
            #expect(try client.unary("/test.Echo/Unary", request: [UInt8(index)], options: GRPCCallOptions(timeout: 10)).message == [UInt8(index)])
        }
        // One new connection, reused after; a libcurl with the h2c reuse bug first makes one
        // HTTP/1.1 upgrade attempt that the server refuses, which the client retries.
        #expect(client.connectionsOpened == (GRPCClient.priorKnowledgeReuseIsBroken ? 3 : 2))
    }

    @Test func serverStreamDeliversEveryMessageInOrder() throws {
        let client = try GRPCClient(url: server.url)
        var received: [String] = []
        let summary = try client.serverStreaming("/test.Echo/Stream", request: json(["count": 50]), options: GRPCCallOptions(timeout: 20)) { message in
            received.append(String(decoding: message, as: UTF8.self))
            return true
        }
        #expect(received == (0..<50).map { "message \($0)" })
        #expect(summary.messageCount == 50)
        #expect(summary.trailers.value(of: "grpc-status") == "0")
        // A long stream of larger messages: each arrives whole, none above the size asked.
        var sizes: [Int] = []
        _ = try client.serverStreaming("/test.Echo/Stream", request: json(["count": 200, "size": 40_000]), options: GRPCCallOptions(timeout: 30)) {
            sizes.append($0.count); return true
        }
        #expect(sizes == [Int](repeating: 40_000, count: 200))
        #expect(client.connectionsOpened == 1)
    }

    @Test func messagesArriveWhileTheStreamIsStillOpen() throws {
        // The server sends one message, then waits for Release before sending the rest. Only a
        // client that hands messages on as they arrive can send that Release (over a second
        // client) and see the stream finish; a buffering client would hit the deadline.
        let name = Self.tag()
        let client = try GRPCClient(url: server.url)
        let releaser = try GRPCClient(url: server.url)
        var received = 0
        var releaseError: GRPCStatus?
        _ = try client.serverStreaming("/test.Echo/Stream", request: json(["count": 3, "wait": name]), options: GRPCCallOptions(timeout: 20)) { _ in
            received += 1
            if received == 1 {
                do throws(GRPCStatus) { _ = try releaser.unary("/test.Echo/Release", request: json(["name": name]), options: GRPCCallOptions(timeout: 10)) }
                catch { releaseError = error }
            }
            return true
        }
        #expect(releaseError == nil)
        #expect(received == 3)
    }

    @Test(arguments: ["trailers-only", "trailers"])
    func serverStatusesArriveDecoded(_ mode: String) throws {
        let client = try GRPCClient(url: server.url)
        let message = "sandbox 'sb-1' is gone: 100% ✓"
        do {
            _ = try client.unary("/test.Echo/Status", request: json(["code": 5, "message": message, "mode": mode]), options: GRPCCallOptions(timeout: 10))
            Issue.record("an error status was not thrown")
        } catch {
            #expect(error == GRPCStatus(code: .notFound, message: message, fromServer: true))
        }
        for code in [GRPCStatus.Code.permissionDenied, .unauthenticated, .resourceExhausted, .unavailable, .internal] {
            #expect(throws: GRPCStatus(code: code, message: "m", fromServer: true)) {
                try client.unary("/test.Echo/Status", request: json(["code": code.rawValue, "message": "m", "mode": mode]), options: GRPCCallOptions(timeout: 10))
            }
        }
        #expect(client.connectionsOpened == 1)
    }

    @Test func streamEndingInAnErrorDeliversItsMessagesFirst() throws {
        let client = try GRPCClient(url: server.url)
        var received = 0
        #expect(throws: GRPCStatus(code: .aborted, message: "halfway", fromServer: true)) {
            try client.serverStreaming("/test.Echo/Stream", request: json(["count": 4, "code": 10, "message": "halfway"]), options: GRPCCallOptions(timeout: 10)) { _ in
                received += 1; return true
            }
        }
        #expect(received == 4)
    }

    @Test func unaryCardinalityIsEnforced() throws {
        let client = try GRPCClient(url: server.url)
        #expect(throws: GRPCStatus.self) { try client.unary("/test.Echo/Empty", request: [], options: GRPCCallOptions(timeout: 10)) }
        do {
            _ = try client.unary("/test.Echo/Twice", request: [], options: GRPCCallOptions(timeout: 10))
            Issue.record("two messages accepted for a unary call")
        } catch {
            #expect(error.code == .unimplemented)
            #expect(!error.fromServer)
        }
        do {
            _ = try client.unary("/test.Echo/Empty", request: [], options: GRPCCallOptions(timeout: 10))
        } catch {
            #expect(error.code == .unimplemented)
            #expect(error.message.contains("no message"))
        }
        // The connection survives both.
        #expect(try client.unary("/test.Echo/Unary", request: [7], options: GRPCCallOptions(timeout: 10)).message == [7])
    }

    @Test func unknownMethodIsUnimplemented() throws {
        let client = try GRPCClient(url: server.url)
        do {
            _ = try client.unary("/test.Echo/NoSuchMethod", request: [], options: GRPCCallOptions(timeout: 10))
            Issue.record("an unknown method answered")
        } catch {
            #expect(error.code == .unimplemented)
            #expect(error.fromServer)
        }
    }

    @Test func oneClientFromManyThreadsRunsCallsOneAtATime() throws {
        let client = try GRPCClient(url: server.url)
        let results = Locked<[Int: [UInt8]]>([:])
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            let answer = try? client.unary("/test.Echo/Unary", request: [UInt8(index)], options: GRPCCallOptions(timeout: 20)).message
            results.update { $0[index] = answer }
        }
        #expect(results.value == Dictionary(uniqueKeysWithValues: (0..<8).map { ($0, [UInt8($0)]) }))
        #expect(client.connectionsOpened == 1)
    }
}
