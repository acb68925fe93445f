import FoundationEssentials
import Glibc
import Core
import Config
import Store
import Backends
import PluginProtocol
import Basics

// Reachability: the descriptor (`sandboxer.reach/v1`) both fronts print, from the backend's
// `endpoints` (capability `sandboxer.reach/1`). See docs/reachability.md.
extension SandboxService {
    /// The reachability descriptor of a ready or active sandbox. `ports` asks for those ports only
    /// (each must come back, else a not-found error names it); none asks for the profile's `reach`
    /// ports, or for every port the backend knows when the profile declares none. With `reveal`, each
    /// `secret_ref` is resolved through the host's secret lookup and shown: the fronts allow that only
    /// to the sandbox's owner and operators.
    public func endpoints(_ id: String, ports: [Int] = [], reveal: Bool = false) throws(SandboxerError) -> ReachDescriptor {
        let asked = try Self.checkPorts(ports)
        let sandbox = try get(id)
        guard SandboxState.live.contains(sandbox.state) else {
            throw SandboxerError(.conflict, "Sandbox \(id) is \(sandbox.state.rawValue); only ready or active sandboxes can be reached.")
        }
        let backend = try backends.backend(named: sandbox.backend)
        guard backend.supports(Capability.reach) else {
            throw SandboxerError(.backend, EndpointRules.undeclared(sandbox.backend))
        }
        // A sandbox made with no network has nothing to reach: the host knows that without asking.
        if let profile = config.profiles[sandbox.profile], profile.network == "none" {
            throw SandboxerError(.invalidArgument, "Sandbox \(id) has no network (its profile \(profile.name) says network: none), so nothing in it can be reached.")
        }
        let reach = config.profiles[sandbox.profile]?.reach ?? []
        let request = EndpointsRequest(sandboxId: sandbox.id, backendRef: sandbox.backendRef ?? sandbox.id,
                                       ports: asked.isEmpty ? reach.map(\.port) : asked)
        var found: [Endpoint]
        do {
            found = try backend.endpoints(request, timeout: backends.timeouts.other).endpoints
        } catch {
            throw error.hostError
        }
        if !asked.isEmpty {
            found = found.filter { asked.contains($0.targetPort) }
            if let missing = asked.first(where: { port in !found.contains { $0.targetPort == port } }) {
                throw SandboxerError(.notFound, "Sandbox \(id) exposes no endpoint for port \(missing) (backend \(sandbox.backend) answered for \(Self.portList(found))).")
            }
        }
        var descriptor = ReachDescriptor.build(sandbox: sandbox, reach: reach, endpoints: found)
        if reveal {
            for i in descriptor.endpoints.indices {
                guard let ref = descriptor.endpoints[i].endpoint.auth.secretRef else { continue }
                guard let value = backends.secret(ref) else {
                    throw SandboxerError(.config, "The secret \(ref.quotedForMessage) of endpoint \(descriptor.endpoints[i].endpoint.name.quotedForMessage) is not set on this host (\(SecretNames.environmentKey(ref))).")
                }
                descriptor.endpoints[i].secret = value
            }
        }
        return descriptor
    }

    /// The ports asked for, deduplicated in order; a usage error for one outside 1–65535.
    static func checkPorts(_ ports: [Int]) throws(SandboxerError) -> [Int] {
        guard ports.count <= EndpointRules.maxPortsPerRequest else {
            throw SandboxerError(.usage, "At most \(EndpointRules.maxPortsPerRequest) ports can be asked for at once.")
        }
        var out: [Int] = []
        for port in ports {
            guard (1...65535).contains(port) else { throw SandboxerError(.usage, "The port \(port) is outside 1–65535.") }
            if !out.contains(port) { out.append(port) }
        }
        return out
    }

    /// "ports 22, 8080" or "no ports", for messages.
    static func portList(_ endpoints: [Endpoint]) -> String {
        let ports = Array(Set(endpoints.map(\.targetPort))).sorted()
        return ports.isEmpty ? "no ports" : "ports " + ports.map(String.init).joined(separator: ", ")
    }
}
