import FoundationEssentials
import Glibc
import PluginKit

/// Everything the network of one bridged sandbox holds on the host, recorded in
/// `<data_dir>/network/leases/<sandbox_id>.json` before any of it is made and removed only after
/// all of it is gone: the lease is the anchor that destroy, inventory and reconcile work from.
struct NetworkLease: Codable, Sendable, Equatable {
    /// A published port as bound: the host port is the real one, also when 0 was asked for.
    struct Published: Codable, Sendable, Equatable {
        var targetPort: Int
        var hostAddress: String
        var hostPort: Int
        enum CodingKeys: String, CodingKey { case targetPort = "target_port", hostAddress = "host_address", hostPort = "host_port" }
    }

    var sandboxId: String
    /// The create request's labels (host, sandbox, profile), so a lease alone proves ownership.
    var labels: [String: String]
    /// Host clock at lease time.
    var createdAtMs: Int64
    /// Index of the sandbox's /30 in the pool.
    var slot: Int
    /// The /30 itself, its two addresses and the host-side link.
    var subnet: String
    var hostAddress: String
    var sandboxAddress: String
    var link: String
    var egress: String
    var allowSandboxes: Bool
    var published: [Published]
    /// The port forwarder (pid and /proc start time), once it runs.
    var forwarderPid: Int32?
    var forwarderStartTime: UInt64?

    enum CodingKeys: String, CodingKey {
        case sandboxId = "sandbox_id", labels, createdAtMs = "created_at_ms", slot, subnet
        case hostAddress = "host_address", sandboxAddress = "sandbox_address", link, egress
        case allowSandboxes = "allow_sandboxes", published, forwarderPid = "forwarder_pid"
        case forwarderStartTime = "forwarder_start_time"
    }
}
