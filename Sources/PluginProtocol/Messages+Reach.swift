import FoundationEssentials
import Glibc

// The messages of capability `sandboxer.reach/1`: the operation `endpoints`, and the optional
// `network_options` of a create request. The host turns endpoints into the reachability
// descriptor (`sandboxer.reach/v1`, docs/reachability.md); the wire shape here is the plugin's side.

/// What protocol an endpoint speaks.
public enum EndpointKind: String, Codable, Sendable, CaseIterable {
    case ssh, tcp, http, https
}

/// How a client authenticates to an endpoint. The secret itself never crosses the ABI: `secretRef`
/// names it for the host's secret lookup.
public struct EndpointAuth: Codable, Sendable, Equatable {
    /// The closed list of schemes an endpoint may ask for.
    public enum Scheme: String, Codable, Sendable, CaseIterable {
        case none, header, bearer, query, cookie
        case urlEmbedded = "url_embedded"
        case sshKey = "ssh_key"
    }

    public var scheme: Scheme
    /// The header, query parameter or cookie name (`header`, `query`, `cookie`).
    public var name: String?
    /// A name the host's secret lookup resolves (today `SANDBOXER_SECRET_<NAME>`); never the value.
    public var secretRef: String?

    public init(scheme: Scheme, name: String? = nil, secretRef: String? = nil) {
        self.scheme = scheme; self.name = name; self.secretRef = secretRef
    }
    enum CodingKeys: String, CodingKey { case scheme, name, secretRef = "secret_ref" }
}

/// How to get to an endpoint when a direct connection does not work.
public struct EndpointVia: Codable, Sendable, Equatable {
    /// A command whose standard input and output are a byte stream to the endpoint (like OpenSSH's
    /// `ProxyCommand` with `-W host:port`): run once per connection.
    public var proxyCommand: [String]?
    /// A command that listens on a local port and forwards it to the endpoint (like
    /// `coder port-forward --tcp {local_port}:3000`); `{local_port}` in any argument is replaced by
    /// the port it must listen on.
    public var localForward: [String]?

    public init(proxyCommand: [String]? = nil, localForward: [String]? = nil) {
        self.proxyCommand = proxyCommand; self.localForward = localForward
    }
    enum CodingKeys: String, CodingKey { case proxyCommand = "proxy_command", localForward = "local_forward" }

    /// The placeholder in `localForward` that stands for the local port.
    public static let localPortPlaceholder = "{local_port}"
}

/// One way to reach one port of a sandbox.
public struct Endpoint: Codable, Sendable, Equatable {
    /// Unique within a response, stable for the same sandbox and port.
    public var name: String
    public var kind: EndpointKind
    /// The port inside the sandbox.
    public var targetPort: Int
    /// Where to connect.
    public var host: String
    public var port: Int
    /// For http/https: the full URL.
    public var url: String?
    /// Whether the connection is TLS.
    public var tls: Bool
    public var auth: EndpointAuth
    /// RFC 3339: when this endpoint stops working, if it does before the sandbox ends.
    public var expiresAt: String?
    public var via: EndpointVia?
    /// For ssh: the user to log in as.
    public var user: String?
    /// For ssh: the host key to pin (`ssh-ed25519 AAAA…`).
    public var hostKey: String?

    public init(name: String, kind: EndpointKind, targetPort: Int, host: String, port: Int, url: String? = nil,
                tls: Bool = false, auth: EndpointAuth = EndpointAuth(scheme: .none), expiresAt: String? = nil,
                via: EndpointVia? = nil, user: String? = nil, hostKey: String? = nil) {
        self.name = name; self.kind = kind; self.targetPort = targetPort; self.host = host; self.port = port
        self.url = url; self.tls = tls; self.auth = auth; self.expiresAt = expiresAt; self.via = via
        self.user = user; self.hostKey = hostKey
    }
    enum CodingKeys: String, CodingKey {
        case name, kind, targetPort = "target_port", host, port, url, tls, auth, expiresAt = "expires_at", via, user
        case hostKey = "host_key"
    }
}

/// `endpoints` request: which ports to reach; empty asks for every port the plugin knows about.
public struct EndpointsRequest: Codable, Sendable, Equatable {
    public var sandboxId: String
    public var backendRef: String
    public var ports: [Int]
    public init(sandboxId: String, backendRef: String, ports: [Int] = []) {
        self.sandboxId = sandboxId; self.backendRef = backendRef; self.ports = ports
    }
    enum CodingKeys: String, CodingKey { case sandboxId = "sandbox_id", backendRef = "backend_ref", ports }
}

/// `endpoints` response.
public struct EndpointsResponse: Codable, Sendable, Equatable {
    public var endpoints: [Endpoint]
    public init(endpoints: [Endpoint]) { self.endpoints = endpoints }
}

/// The create request's optional `network_options`, for a network mode other than `none`.
/// Every field is optional: absent means the backend's default.
public struct CreateNetworkOptions: Codable, Sendable, Equatable {
    /// One sandbox port published on an address of the backend's host.
    public struct Publish: Codable, Sendable, Equatable {
        public var targetPort: Int
        /// 0 (or absent) asks for any free port.
        public var hostPort: Int?
        /// Absent: the backend's default (LocalVM: 127.0.0.1).
        public var hostAddress: String?
        public init(targetPort: Int, hostPort: Int? = nil, hostAddress: String? = nil) {
            self.targetPort = targetPort; self.hostPort = hostPort; self.hostAddress = hostAddress
        }
        enum CodingKeys: String, CodingKey {
            case targetPort = "target_port", hostPort = "host_port", hostAddress = "host_address"
        }
    }

    /// `none` or `nat`.
    public var egress: String?
    /// Whether other sandboxes of the host may reach this one.
    public var allowSandboxes: Bool?
    public var publish: [Publish]?

    public init(egress: String? = nil, allowSandboxes: Bool? = nil, publish: [Publish]? = nil) {
        self.egress = egress; self.allowSandboxes = allowSandboxes; self.publish = publish
    }
    enum CodingKeys: String, CodingKey { case egress, allowSandboxes = "allow_sandboxes", publish }

    /// True when nothing is set (the request then carries no `network_options`).
    public var isEmpty: Bool { egress == nil && allowSandboxes == nil && (publish ?? []).isEmpty }
}
