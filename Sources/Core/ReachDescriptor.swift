import FoundationEssentials
import Glibc
import Basics
import PluginProtocol

/// The reachability descriptor (`sandboxer.reach/v1`): how a consumer reaches the services of one
/// sandbox, what ops-bridge consumes. Built from a backend's `endpoints` answer, the profile's
/// `reach:` names and the sandbox's deadline; docs/reachability.md describes it field by field.
public struct ReachDescriptor: Sendable, Equatable {
    /// The value of the `schema` field.
    public static let schema = "sandboxer.reach/v1"

    public var sandboxId: String
    /// The sandbox's deadline: no endpoint outlives it.
    public var expiresAt: Date?
    public var endpoints: [ReachEndpoint]

    public init(sandboxId: String, expiresAt: Date?, endpoints: [ReachEndpoint]) {
        self.sandboxId = sandboxId; self.expiresAt = expiresAt; self.endpoints = endpoints
    }

    /// The descriptor for `sandbox` from a backend's endpoints:
    /// - an endpoint whose target port is in `reach` takes the reach entry's name (the first one for
    ///   that port; later ones are `<reach name>-<plugin's name>`), and a plain `tcp` endpoint takes
    ///   the entry's kind (`http`/`https`/`ssh` run over TCP; `https` means the connection is TLS);
    /// - http/https endpoints without a URL get `scheme://host:port/`;
    /// - each endpoint's `expires_at` is the earlier of its own and the sandbox's deadline.
    public static func build(sandbox: Sandbox, reach: [ReachPort], endpoints: [Endpoint]) -> ReachDescriptor {
        var named: [String: Int] = [:]  // reach name → endpoints named after it so far
        var taken = Set<String>()
        var out: [ReachEndpoint] = []
        for original in endpoints {
            var e = original
            if let entry = reach.first(where: { $0.port == e.targetPort }) {
                let count = named[entry.name, default: 0]
                e.name = count == 0 ? entry.name : "\(entry.name)-\(original.name)"
                named[entry.name] = count + 1
                if e.kind == .tcp, entry.kind != .tcp {
                    e.kind = entry.kind
                    if entry.kind == .https { e.tls = true }
                }
            }
            e.name = unique(e.name, taken: taken)
            taken.insert(e.name)
            if e.url == nil, e.kind == .http || e.kind == .https {
                let host = e.host.contains(":") && !e.host.hasPrefix("[") ? "[\(e.host)]" : e.host
                e.url = "\(e.kind.rawValue)://\(host):\(e.port)/"
            }
            let own = e.expiresAt.flatMap(RFC3339.parse)
            let deadline: Date? = switch (own, sandbox.expiresAt) {
            case let (a?, b?): min(a, b)
            case let (a, b): a ?? b
            }
            e.expiresAt = deadline.map(RFC3339.format)
            out.append(ReachEndpoint(endpoint: e))
        }
        return ReachDescriptor(sandboxId: sandbox.id, expiresAt: sandbox.expiresAt, endpoints: out)
    }

    /// `name`, or `name-2`, `name-3`… when it is taken.
    static func unique(_ name: String, taken: Set<String>) -> String {
        guard taken.contains(name) else { return name }
        var n = 2
        while taken.contains("\(name)-\(n)") { n += 1 }
        return "\(name)-\(n)"
    }
}

/// One endpoint of a descriptor: the backend's endpoint as the host completed it, plus what the
/// host added on request (the revealed secret, a probe).
public struct ReachEndpoint: Sendable, Equatable {
    /// The endpoint; its `expiresAt` is already bounded by the sandbox's deadline.
    public var endpoint: Endpoint
    /// The value of `endpoint.auth.secretRef`, only when its owner asked to reveal it.
    public var secret: String?
    public var probe: ReachProbeResult?

    public init(endpoint: Endpoint, secret: String? = nil, probe: ReachProbeResult? = nil) {
        self.endpoint = endpoint; self.secret = secret; self.probe = probe
    }
}

/// What one probe of an endpoint found: a TCP connect for tcp/ssh, an HTTP GET for http/https.
public struct ReachProbeResult: Sendable, Equatable {
    public var reachable: Bool
    /// Time to the connection (tcp) or to the response (http), in milliseconds.
    public var latencyMs: Double?
    /// The HTTP status of the GET, for http/https endpoints that answered.
    public var status: Int?
    /// Why it was not reachable, one sentence.
    public var error: String?

    public init(reachable: Bool, latencyMs: Double? = nil, status: Int? = nil, error: String? = nil) {
        self.reachable = reachable; self.latencyMs = latencyMs; self.status = status; self.error = error
    }
}
