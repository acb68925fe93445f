import Dispatch
import FoundationEssentials
import Core
import PluginProtocol
import Basics
import HTTPClient
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `--probe` / `?probe=true`: tries each endpoint of a descriptor once, all at the same time. A
/// tcp/ssh endpoint is reachable when a TCP connection opens; an http/https one when an HTTP GET of
/// its URL gets any response (a 401 proves the route as well as a 200: probes send no credentials).
public enum ReachProbe {
    /// Seconds a probe waits for a connection (and, for HTTP, as long again for the response).
    public static let defaultTimeout = 3.0

    /// `descriptor` with `probe` set on every endpoint.
    public static func run(_ descriptor: ReachDescriptor, timeout: Double = defaultTimeout) -> ReachDescriptor {
        let results = ProbeResults(count: descriptor.endpoints.count)
        DispatchQueue.concurrentPerform(iterations: descriptor.endpoints.count) { i in
            results.set(i, probe(descriptor.endpoints[i].endpoint, timeout: timeout))
        }
        var out = descriptor
        for i in out.endpoints.indices { out.endpoints[i].probe = results.get(i) }
        return out
    }

    /// One endpoint.
    public static func probe(_ e: Endpoint, timeout: Double = defaultTimeout) -> ReachProbeResult {
        if e.via != nil {
            return ReachProbeResult(reachable: false, error: "The endpoint is reached through a command (via); a probe connects only to direct endpoints.")
        }
        let started = DispatchTime.now()
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e6 }
        if (e.kind == .http || e.kind == .https), let url = e.url {
            do {
                let response = try HTTPClient(userAgent: "sandboxer-probe").send(HTTPClientRequest(
                    method: "GET", url: url, connectTimeout: timeout, timeout: timeout * 2, maxResponseBytes: 64 << 10))
                return ReachProbeResult(reachable: true, latencyMs: elapsed(), status: response.status)
            } catch where error.code == .responseTooLarge {
                return ReachProbeResult(reachable: true, latencyMs: elapsed())
            } catch {
                return ReachProbeResult(reachable: false, error: error.message)
            }
        }
        switch TCPConnect.connect(host: e.host, port: e.port, timeout: timeout) {
        case .success(let fd):
            let ms = elapsed()
            close(fd)
            return ReachProbeResult(reachable: true, latencyMs: ms)
        case .failure(let failure):
            return ReachProbeResult(reachable: false, error: failure.message)
        }
    }
}

/// Results written by concurrent probes, one slot each.
private final class ProbeResults: Sendable {
    private let slots: Mutex<[ReachProbeResult?]>
    init(count: Int) { slots = Mutex(Array(repeating: nil, count: count)) }
    func set(_ i: Int, _ r: ReachProbeResult) { slots.withLock { $0[i] = r } }
    func get(_ i: Int) -> ReachProbeResult? { slots.withLock { $0[i] } }
}
