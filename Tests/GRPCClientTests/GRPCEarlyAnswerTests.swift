import Foundation
@testable import GRPCClient
import Testing

/// A server that answers a call before the client could send its message (early_server.py: a
/// zero flow-control window, then a trailers-only answer and RST_STREAM(NO_ERROR) in one write).
/// libcurl 7.88 loses that answer; the client asks once more when the message never went out in
/// full, and only then.
@Suite(.enabled(if: GRPCTestServer.isAvailable, "needs python3 with venv and PyPI (h2, see server/requirements.txt) for the early-answering server"))
struct GRPCEarlyAnswerTests {
    let server: GRPCTestServer

    init() throws { server = try GRPCTestServer.early.get() }

    /// A client that has made one call, so it has acknowledged the server's zero window: from
    /// then on none of its calls can send a message byte before the server opens the window.
    func warmClient() throws -> GRPCClient {
        let client = try GRPCClient(url: server.url)
        let ping = try client.unary("/test.Early/Ping", request: [7], options: GRPCCallOptions(metadata: [("x-test-tag", "ping")], timeout: 10))
        #expect(ping.message == [7])
        return client
    }

    /// How many calls (attempts) carrying `tag` the server saw.
    func attempts(_ client: GRPCClient, tag: String) throws -> Int {
        let answer = try client.unary("/test.Early/Count", request: Array(tag.utf8), options: GRPCCallOptions(timeout: 10))
        return try #require(Int(String(decoding: answer.message, as: UTF8.self)))
    }

    @Test func aLostEarlyAnswerIsAskedForOnceMoreAndThrown() throws {
        let client = try warmClient()
        for index in 0..<200 {
            let tag = "lost-once-\(index)-\(UUID().uuidString)"
            do {
                _ = try client.unary("/test.Early/LostOnce", request: [], options: GRPCCallOptions(metadata: [("x-test-tag", tag)], timeout: 10))
                Issue.record("call \(index): the call succeeded")
            } catch {
                #expect(error == GRPCStatus(code: .unimplemented, message: "answer to attempt 2 after its message", fromServer: true), "call \(index)")
            }
        }
        #expect(client.connectionsOpened == 1)
    }

    @Test func aSecondLossIsATransportFailureAfterExactlyTwoAttempts() throws {
        let client = try warmClient()
        let tag = "always-\(UUID().uuidString)"
        do {
            _ = try client.unary("/test.Early/Always", request: [1, 2, 3], options: GRPCCallOptions(metadata: [("x-test-tag", tag)], timeout: 10))
            Issue.record("the call succeeded")
        } catch {
            #expect(error.code == .unavailable)
            #expect(!error.fromServer)
        }
        #expect(try attempts(client, tag: tag) == 2)
    }

    @Test func aFailureAfterTheWholeMessageWentOutIsNotRetried() throws {
        let client = try warmClient()
        let tag = "after-body-\(UUID().uuidString)"
        do {
            _ = try client.unary("/test.Early/AfterBody", request: [9],
                                 options: GRPCCallOptions(metadata: [("x-test-tag", tag)], timeout: 10))
            Issue.record("the call succeeded")
        } catch {
            #expect(error.code == .unavailable)
            #expect(!error.fromServer)
        }
        #expect(try attempts(client, tag: tag) == 1)
    }

    @Test func noTimeLeftMeansNoSecondAttempt() {
        let start = ContinuousClock.now - .seconds(2)
        #expect(GRPCClient.remaining(GRPCCallOptions(timeout: 1), since: start) == nil)
        let left = GRPCClient.remaining(GRPCCallOptions(timeout: 60), since: start)?.timeout
        #expect(left.map { $0 > 50 && $0 <= 58 } == true)
        #expect(GRPCClient.remaining(GRPCCallOptions(), since: start)?.timeout == nil)
    }
}
