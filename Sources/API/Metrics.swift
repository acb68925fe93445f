import FoundationEssentials
import Glibc
import HTTPServer
import YAMLSubset
import Lifecycle
import Webhooks
import Store
import Config
import Core
import Backends
import Basics
import PluginProtocol
import Synchronization

/// Process-lifetime counters and a latency histogram, rendered in Prometheus text format.
public final class Metrics: Sendable {
    /// Upper bounds of the request latency buckets, in seconds.
    static let buckets: [Double] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    struct State {
        var counters: [String: [String: Double]] = [:]          // metric → label set text → value
    }

    private let state = Mutex(State())
    /// Requests by method/route/status and their latency: sharded, label text built at scrape time.
    private let requests = RequestMetrics(buckets: buckets)

    public init() {}

    /// Adds `by` to counter `name` with the given labels.
    public func increment(_ name: String, labels: [String: String] = [:], by: Double = 1) {
        let key = Self.labelText(labels)
        state.withLock { $0.counters[name, default: [:]][key, default: 0] += by }
    }

    /// Records one answered request: its count by method/route/status and its latency. Per-thread
    /// shards keyed by values: one global lock and label text built per request were the server's
    /// main point of contention (see docs/performance.md, "HTTP hot path").
    public func recordRequest(method: String, route: String, status: Int, seconds: Double) {
        requests.record(method: method, route: route, status: status, seconds: seconds)
    }

    static func labelText(_ labels: [String: String]) -> String {
        guard !labels.isEmpty else { return "" }
        let body = labels.keys.sorted().map { key in
            let raw = labels[key]!
            let needsEscape = raw.utf8.contains { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == 10 }
            let value = !needsEscape ? raw : raw.replacing("\\", with: "\\\\")
                .replacing("\"", with: "\\\"").replacing("\n", with: "\\n")
            return "\(key)=\"\(value)\""
        }
        return "{" + body.joined(separator: ",") + "}"
    }

    /// The exposition text; `gauges` are computed by the caller at scrape time (sandboxes by state).
    func render(gauges: [(name: String, help: String, samples: [([String: String], Double)])]) -> String {
        var out = ""
        for gauge in gauges {
            out += "# HELP \(gauge.name) \(gauge.help)\n# TYPE \(gauge.name) gauge\n"
            for (labels, value) in gauge.samples { out += "\(gauge.name)\(Self.labelText(labels)) \(Self.number(value))\n" }
        }
        var s = state.withLock { $0 }
        let r = requests.snapshot()
        for (key, count) in r.requests {
            let labels = Self.labelText(["method": key.method, "route": key.route, "status": String(key.status)])
            s.counters["sandboxer_http_requests_total", default: [:]][labels, default: 0] += Double(count)
        }
        let help = [
            "sandboxer_creates_total": "Sandboxes created through this server, by profile and outcome.",
            "sandboxer_destroys_total": "Sandboxes destroyed through this server, by reason.",
            "sandboxer_expiries_total": "Sandboxes expired by the sweep, by rule.",
            "sandboxer_http_requests_total": "HTTP requests answered, by method, route and status.",
            "sandboxer_webhook_deliveries_total": "Webhook delivery attempts by this process, by sink and outcome (delivered, failed, dead).",
        ]
        for name in Set(s.counters.keys).union(help.keys).sorted() {
            out += "# HELP \(name) \(help[name] ?? name)\n# TYPE \(name) counter\n"
            for (labels, value) in (s.counters[name] ?? [:]).sorted(by: { $0.key < $1.key }) {
                out += "\(name)\(labels) \(Self.number(value))\n"
            }
        }
        let h = "sandboxer_http_request_duration_seconds"
        out += "# HELP \(h) HTTP request latency, by route.\n# TYPE \(h) histogram\n"
        for route in r.latencyCounts.keys.sorted() {
            let counts = r.latencyCounts[route] ?? []
            for (i, bound) in Self.buckets.enumerated() {
                out += "\(h)_bucket\(Self.labelText(["route": route, "le": Self.number(bound)])) \(counts[i])\n"
            }
            out += "\(h)_bucket\(Self.labelText(["route": route, "le": "+Inf"])) \(r.latencyTotal[route] ?? 0)\n"
            out += "\(h)_sum\(Self.labelText(["route": route])) \(Self.number(r.latencySum[route] ?? 0))\n"
            out += "\(h)_count\(Self.labelText(["route": route])) \(r.latencyTotal[route] ?? 0)\n"
        }
        return out
    }

    static func number(_ v: Double) -> String {
        v.rounded() == v && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }
}
