import FoundationEssentials
import Glibc
import PluginKit

/// Capability `sandboxer.reach/1`: the `endpoints` operation, and the request fields the shared
/// message types do not carry yet (`network_options` of create and restore).
extension LocalVMPlugin {
    /// At most this many ports per endpoints request.
    static let maxEndpointPorts = 256

    /// Routes `endpoints`, and create/restore with their `network_options`; the rest as PluginKit does.
    public func invoke(operation: String, request: Data, call: PluginCall) throws(PluginError) -> Data {
        switch operation {
        case Operation.endpoints:
            let body = try Self.object(request, operation)
            return try Self.encode(endpoints(body))
        case Operation.create:
            let options = try NetworkOptions(json: Self.object(request, operation)["network_options"])
            // Read without Codable, as PluginDispatch reads it for every other plugin (Messages+CreateJSON).
            let create: CreateRequest
            do { create = try CreateRequest(json: request) } catch {
                throw PluginError(.invalidRequest, "The '\(operation)' request is not valid JSON for this operation: \(error).")
            }
            return try self.create(create, network: options, call: call).jsonData
        case Operation.restore:
            let options = try NetworkOptions(json: Self.object(request, operation)["network_options"])
            return try Self.encode(restore(Self.decode(RestoreRequest.self, request, operation), network: options, call: call))
        default:
            return try PluginDispatch.dispatch(self, operation: operation, request: request, call: call)
        }
    }

    /// `{"sandbox_id","backend_ref","ports":[int]}` → `{"endpoints":[...]}`. Each requested port
    /// is reachable from the host on the sandbox's own address (kind tcp), and each published port
    /// of it on its host address; no ports means every published port.
    func endpoints(_ body: JSONValue) throws(PluginError) -> JSONValue {
        guard let id = body["sandbox_id"]?.stringValue else {
            throw PluginError(.invalidRequest, "The 'endpoints' request needs 'sandbox_id'.")
        }
        var ports: [Int] = []
        if let list = body["ports"], list != .null {
            guard let items = list.arrayValue, items.count <= Self.maxEndpointPorts else {
                throw PluginError(.invalidRequest, "'ports' must be a list of at most \(Self.maxEndpointPorts) port numbers.")
            }
            for item in items {
                guard let p = NetworkOptions.port(item), p >= 1 else {
                    throw PluginError(.invalidRequest, "Every entry of 'ports' must be a port number from 1 to 65535.")
                }
                if !ports.contains(p) { ports.append(p) }
            }
        }
        let paths = try layout(id)
        let meta = try loadMeta(paths)
        guard meta.network == "bridge" else {
            throw PluginError(.invalidRequest, "The sandbox \(id) has no network (network: none).")
        }
        guard let lease = try leases.load(id) else {
            throw PluginError(.conflict, "The sandbox \(id) has network 'bridge' but no network lease (it is being created or was damaged).")
        }
        guard meta.initPid > 0, ProcessIdentity(pid: meta.initPid, startTime: meta.initStartTime).isRunning else {
            throw PluginError(.conflict, "The sandbox \(id) is not running, so none of its ports can be reached.")
        }
        if ports.isEmpty { ports = Array(Set(lease.published.map(\.targetPort))).sorted() }
        var endpoints: [JSONValue] = []
        for port in ports {
            endpoints.append(Self.endpoint(name: "direct-\(port)", target: port, host: lease.sandboxAddress, port: port))
            for p in lease.published where p.targetPort == port {
                endpoints.append(Self.endpoint(name: "published-\(p.hostPort)", target: port, host: p.hostAddress, port: p.hostPort))
            }
        }
        return .object(["endpoints": .array(endpoints)])
    }

    private static func endpoint(name: String, target: Int, host: String, port: Int) -> JSONValue {
        .object(["name": .string(name), "kind": "tcp", "target_port": .number(Double(target)), "host": .string(host),
                 "port": .number(Double(port)), "tls": false, "auth": ["scheme": "none"]])
    }

    /// The request as a JSON object, read by JSONReader: decoding JSONValue through Codable (a
    /// recursive enum) was ~0.6 ms of every CLI create (perf, docs/performance.md).
    private static func object(_ data: Data, _ operation: String) throws(PluginError) -> JSONValue {
        guard let value = data.isEmpty ? JSONValue.object([:]) : JSONReader.parse(data), case .object = value else {
            throw PluginError(.invalidRequest, "The '\(operation)' request is not a JSON object.")
        }
        return value
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ data: Data, _ operation: String) throws(PluginError) -> T {
        do { return try JSONDecoder().decode(T.self, from: data) } catch {
            throw PluginError(.invalidRequest, "The '\(operation)' request is not valid JSON for this operation.")
        }
    }

    private static func encode<T: Encodable>(_ value: T) throws(PluginError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do { return try encoder.encode(value) } catch {
            throw PluginError(.internal, "The plugin could not encode its response: \(error).")
        }
    }
}
