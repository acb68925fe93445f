import Foundation
import Basics

/// One HTTP/1.1 request to a `serve` on 127.0.0.1 over a fresh connection (`Connection: close`), read
/// to EOF: enough for load tests, with no client library between the test and the server.
enum LoopbackHTTP {
    struct Response { var status: Int; var body: String; var seconds: Double }

    static func request(port: Int, method: String, path: String, body: String? = nil,
                        headers: [String: String] = [:]) -> Response {
        let started = Date()
        guard case .success(let fd) = TCPConnect.connect(host: "127.0.0.1", port: port, timeout: 30) else {
            return Response(status: 0, body: "connect failed", seconds: Date().timeIntervalSince(started))
        }
        defer { close(fd) }
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let body { text += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body }
        else { text += "\r\n" }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return Response(status: 0, body: "send failed", seconds: Date().timeIntervalSince(started)) }
            bytes = bytes.dropFirst(n)
        }
        var received = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 16384)
        while received.count < 1 << 22 {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            received += buffer[0..<n]
        }
        let seconds = Date().timeIntervalSince(started)
        let response = String(decoding: received, as: UTF8.self)
        let status = response.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0
        let bodyText = response.range(of: "\r\n\r\n").map { String(response[$0.upperBound...]) } ?? ""
        return Response(status: status, body: bodyText, seconds: seconds)
    }
}

/// Percentiles of latencies, for the test log.
enum Latency {
    /// The `p`th percentile (0...100) by nearest rank, in milliseconds.
    static func percentile(_ seconds: [Double], _ p: Double) -> Double {
        guard !seconds.isEmpty else { return 0 }
        let sorted = seconds.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)] * 1000
    }

    static func summary(_ seconds: [Double]) -> String {
        String(format: "p50 %.1f ms, p99 %.1f ms (n=%d)", percentile(seconds, 50), percentile(seconds, 99), seconds.count)
    }
}
