import Foundation
import Glibc
import Synchronization
import Testing
@testable import HTTPServer
@testable import API

/// One client cannot lock others out: at the connection limit a lighter address takes a waiting
/// connection's place, health checks run on priority threads, and long requests are bounded.
@Suite("HTTP fairness")
struct HTTPServerFairnessTests {
    @Test func idleConnectionsOfOneAddressMakeRoomForAnother() throws {
        try withServer({ $0.maxConnections = 64 }) { server, address in
            // One address takes every slot with idle keep-alive connections.
            var idle: [RawHTTPClient] = []
            for _ in 0..<64 {
                let client = try RawHTTPClient(address)
                #expect(try client.request("GET /warm HTTP/1.1\r\nHost: x\r\n\r\n").status == 200)  // accepted, idle now
                idle.append(client)
            }
            // More from the same address: over the limit, answered 503 (it already holds the most).
            let same = try RawHTTPClient(address)
            #expect(try same.readResponse()?.status == 503)
            // Another address is served at once: one idle connection of the first makes room.
            var others: [RawHTTPClient] = []  // kept open: each holds its place
            for round in 0..<3 {
                let other = try RawHTTPClient(address, from: "127.0.0.\(2 + round)")
                #expect(try other.request("GET /other HTTP/1.1\r\nHost: x\r\n\r\n").text == "GET /other  0")
                others.append(other)
            }
            // Exactly three of the idle ones were closed; the rest still work.
            var closed = 0
            for client in idle where client.isClosedByPeer() { closed += 1 }
            #expect(closed == 3)
            #expect(server.openConnections <= 65)  // 64 counted, and the 503 may still be lingering
        }
    }

    @Test func aBusyConnectionIsNeverEvicted() throws {
        let release = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let handler: @Sendable (HTTPRequest) -> HTTPResponse = { request in
            if request.path == "/block" { started.signal(); release.wait() }
            return echoHandler(request)
        }
        try withServer({ $0.maxConnections = 2 }, handler: handler) { _, address in
            let busy = [try RawHTTPClient(address), try RawHTTPClient(address)]
            for client in busy { try client.send("GET /block HTTP/1.1\r\nHost: x\r\n\r\n") }
            started.wait(); started.wait()
            // Both of the first address's connections run handlers: the newcomer gets the 503.
            let other = try RawHTTPClient(address, from: "127.0.0.2")
            #expect(try other.readResponse()?.status == 503)
            release.signal(); release.signal()
            for client in busy { #expect(try client.readResponse()?.status == 200) }
        }
    }

    @Test func priorityRequestsAnswerWhileEveryWorkerIsBusy() throws {
        let release = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let handler: @Sendable (HTTPRequest) -> HTTPResponse = { request in
            if request.path == "/block" { started.signal(); release.wait() }
            return echoHandler(request)
        }
        try withServer({ $0.workerThreads = 2 }, handler: handler, isPriority: { $0.path == "/healthz" }) { _, address in
            let blocked = [try RawHTTPClient(address), try RawHTTPClient(address)]
            for client in blocked { try client.send("GET /block HTTP/1.1\r\nHost: x\r\n\r\n") }
            started.wait(); started.wait()  // both workers are now held
            let health = try RawHTTPClient(address, timeout: 5)
            #expect(try health.request("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").text == "GET /healthz  0")
            release.signal(); release.signal()
            for client in blocked { #expect(try client.readResponse()?.status == 200) }
        }
    }

    @Test func longRequestsAreBoundedInTotalAndPerCaller() throws {
        let gate = LongRequestGate(total: 3, perCaller: 2)
        let inside = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        for caller in ["alice", "alice", "bob"] {
            DispatchQueue.global().async(group: group) {
                _ = try? gate.run(caller: caller) { () throws(APIError) in inside.signal(); release.wait() }
            }
        }
        for _ in 0..<3 { inside.wait() }
        #expect(gate.running == 3)
        func refusal(_ caller: String) -> APIError? {
            do { try gate.run(caller: caller) { () throws(APIError) in }; return nil } catch { return error }
        }
        let total = try #require(refusal("carol"))
        #expect(total.status == 429 && total.code == "too_many_requests")
        #expect(total.headers.contains { $0.0 == "Retry-After" })
        for _ in 0..<3 { release.signal() }
        group.wait()
        #expect(gate.running == 0)
        #expect(refusal("carol") == nil)
    }

    @Test func perCallerBoundRefusesTheThirdOfOneToken() throws {
        let gate = LongRequestGate(total: 10, perCaller: 2)
        let inside = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        for _ in 0..<2 {
            DispatchQueue.global().async(group: group) {
                _ = try? gate.run(caller: "alice") { () throws(APIError) in inside.signal(); release.wait() }
            }
        }
        inside.wait(); inside.wait()
        var third: APIError?
        do { try gate.run(caller: "alice") { () throws(APIError) in } } catch { third = error }
        #expect(third?.status == 429)
        #expect(third?.message.contains("This token") == true)
        var other: APIError?
        do { try gate.run(caller: "bob") { () throws(APIError) in } } catch { other = error }
        #expect(other == nil)
        release.signal(); release.signal()
        group.wait()
    }

    @Test func aPlaceIsHeldUntilLeftAndLeavingTwiceGivesBackOne() throws {
        let gate = LongRequestGate(total: 1, perCaller: 1)
        let place = try gate.enter(caller: "alice")
        #expect(gate.running == 1)
        #expect(throws: APIError.self) { _ = try gate.enter(caller: "bob") }
        place.leave()
        place.leave()
        #expect(gate.running == 0)
        let again = try gate.enter(caller: "bob")
        again.leave()
    }

    @Test func aStreamedBodyRunsItsFinishersAfterTheProducer() {
        let order = Mutex<[String]>([])
        let stream = HTTPBodyStream { _ in order.withLock { $0.append("producer") } }
        stream.whenFinished { order.withLock { $0.append("finished") } }
        stream.run()
        stream.run()  // finishers run once
        #expect(order.withLock { $0 } == ["producer", "finished", "producer"])
    }
}
