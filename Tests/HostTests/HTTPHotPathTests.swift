import Foundation
import Glibc
import Synchronization
import Testing
@testable import Basics
@testable import HTTPServer
@testable import API

/// The pieces of the server's hot path: inline answers on the loop thread, the batched access log,
/// sharded request metrics, the per-second Date header.
@Suite struct HTTPHotPathTests {
    /// A server whose inline handler answers `/inline…` paths (with the loop thread's name in the
    /// body) and leaves the rest to the worker pool.
    func withInlineServer(log: AccessLogBuffer? = nil, sink: AccessLogSink? = nil,
                          _ body: (ListenAddress) throws -> Void) throws {
        var configuration = HTTPServerConfiguration()
        configuration.listen = .tcp(host: "127.0.0.1", port: 0)
        let server = HTTPServer(configuration: configuration, handler: { request in
            HTTPResponse(status: 200, body: Data("worker \(request.path)".utf8))
        }, accessLog: { entry in
            sink?.record(entry)
            log?.append(entry)
        }, accessLogFlush: { log?.flush() }, inlineHandler: { request in
            guard request.path.hasPrefix("/inline") else { return nil }
            return HTTPResponse(status: 200, body: Data("inline \(request.path)".utf8))
        })
        let address = try server.start()
        defer {
            server.shutdown()
            server.wait()
        }
        try body(address)
    }

    @Test func inlineAndWorkerAnswersInterleaveInOrderWhenPipelined() throws {
        let sink = AccessLogSink()
        try withInlineServer(sink: sink) { address in
            let client = try RawHTTPClient(address)
            var text = ""
            for i in 0..<30 { text += "GET /\(i % 3 == 0 ? "w" : "inline")\(i) HTTP/1.1\r\nHost: x\r\n\r\n" }
            try client.send(text)
            for i in 0..<30 {
                let response = try #require(try client.readResponse())
                #expect(response.text == (i % 3 == 0 ? "worker /w\(i)" : "inline /inline\(i)"))
                #expect(response.headers["Content-Length"] != nil && response.headers["X-Request-Id"] != nil)
            }
            // Keep-alive still works after inline answers, and every request was logged.
            #expect(try client.request("GET /inline-last HTTP/1.1\r\nHost: x\r\n\r\n").text == "inline /inline-last")
        }
        #expect(sink.all.count == 31)
        #expect(sink.all.allSatisfy { $0.status == 200 })
    }

    @Test func theAccessLogIsWrittenInBatchesAndFlushedEveryRound() throws {
        let writes = Mutex<[String]>([])
        let log = AccessLogBuffer { text in writes.withLock { $0.append(text) } }
        try withInlineServer(log: log) { address in
            let client = try RawHTTPClient(address)
            var text = ""
            for i in 0..<10 { text += "GET /inline\(i) HTTP/1.1\r\nHost: x\r\n\r\n" }
            try client.send(text)
            for _ in 0..<10 { _ = try client.readResponse() }
            // One answered request on its own is flushed in its own round: nothing waits for a batch.
            _ = try client.request("GET /w HTTP/1.1\r\nHost: x\r\n\r\n")
        }
        let all = writes.withLock { $0 }
        let lines = all.joined().split(separator: "\n")
        #expect(lines.count == 11)
        #expect(all.count < 11)   // the pipelined ten arrived in one read: fewer writes than lines
        #expect(lines.last?.contains("path=/w ") == true)
    }

    @Test func theAccessLogBufferWritesWhenFull() {
        let writes = Mutex<[String]>([])
        let log = AccessLogBuffer(maxBytes: 10) { text in writes.withLock { $0.append(text) } }
        log.append(line: "abcd")
        #expect(writes.withLock { $0.isEmpty })
        log.append(line: "efghij")
        #expect(writes.withLock { $0 } == ["abcd\nefghij\n"])
        log.flush()
        #expect(writes.withLock { $0.count } == 1)   // nothing pending: no empty write
        log.append(line: "k")
        log.flush()
        #expect(writes.withLock { $0 } == ["abcd\nefghij\n", "k\n"])
    }

    @Test func requestMetricsTotalsAreExactUnderConcurrency() {
        let metrics = RequestMetrics(buckets: [0.001, 0.01, 1], shards: 4)
        let threads = 8, perThread = 5_000
        let done = DispatchGroup()
        for t in 0..<threads {
            done.enter()
            Thread {
                for i in 0..<perThread {
                    metrics.record(method: "GET", route: t % 2 == 0 ? "/a" : "/b", status: i % 2 == 0 ? 200 : 404,
                                   seconds: i % 3 == 0 ? 0.0005 : 0.5)
                }
                done.leave()
            }.start()
        }
        done.wait()
        let totals = metrics.snapshot()
        #expect(totals.requests.values.reduce(0, +) == threads * perThread)
        #expect(totals.requests[.init(method: "GET", route: "/a", status: 200)] == threads / 2 * perThread / 2)
        #expect(totals.latencyTotal["/a"] == threads / 2 * perThread)
        let fast = (perThread + 2) / 3 * threads / 2
        #expect(totals.latencyCounts["/a"] == [fast, fast, threads / 2 * perThread])
    }

    @Test func metricsRenderTheShardedRequestCounts() {
        let metrics = Metrics()
        metrics.recordRequest(method: "GET", route: "/v1/sandboxes/{id}", status: 200, seconds: 0.002)
        metrics.recordRequest(method: "GET", route: "/v1/sandboxes/{id}", status: 200, seconds: 0.002)
        metrics.recordRequest(method: "POST", route: "/v1/sandboxes", status: 201, seconds: 70)
        let text = metrics.render(gauges: [])
        #expect(text.contains(#"sandboxer_http_requests_total{method="GET",route="/v1/sandboxes/{id}",status="200"} 2"#))
        #expect(text.contains(#"sandboxer_http_requests_total{method="POST",route="/v1/sandboxes",status="201"} 1"#))
        #expect(text.contains(#"sandboxer_http_request_duration_seconds_bucket{le="0.005",route="/v1/sandboxes/{id}"} 2"#))
        #expect(text.contains(#"sandboxer_http_request_duration_seconds_bucket{le="60",route="/v1/sandboxes"} 0"#))
        #expect(text.contains(#"sandboxer_http_request_duration_seconds_count{route="/v1/sandboxes"} 1"#))
    }

    @Test func theDateHeaderChangesWithTheSecondOnly() {
        #expect(HTTPResponse.httpDate(784_111_777.2) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPResponse.httpDate(784_111_777.9) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPResponse.httpDate(784_111_778.0) == "Sun, 06 Nov 1994 08:49:38 GMT")
        #expect(HTTPResponse.httpDate(784_111_777.5) == "Sun, 06 Nov 1994 08:49:37 GMT")
    }
}
