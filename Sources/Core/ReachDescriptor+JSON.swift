import FoundationEssentials
import Glibc
import Basics
import PluginProtocol

extension ReachDescriptor {
    /// The descriptor as both fronts print it (docs/schemas/reach-v1.schema.json). Optional
    /// fields are left out when unset, never null: consumers test for presence.
    public var jsonValue: JSONValue {
        var object: [String: JSONValue] = [
            "schema": .string(Self.schema), "sandbox_id": .string(sandboxId),
            "endpoints": .array(endpoints.map(\.jsonValue)),
        ]
        if let expiresAt { object["expires_at"] = .string(RFC3339.format(expiresAt)) }
        return .object(object)
    }
}

extension ReachEndpoint {
    public var jsonValue: JSONValue {
        let e = endpoint
        var object: [String: JSONValue] = [
            "name": .string(e.name), "kind": .string(e.kind.rawValue), "target_port": .number(Double(e.targetPort)),
            "host": .string(e.host), "port": .number(Double(e.port)), "tls": .bool(e.tls),
        ]
        var auth: [String: JSONValue] = ["scheme": .string(e.auth.scheme.rawValue)]
        if let name = e.auth.name { auth["name"] = .string(name) }
        if let ref = e.auth.secretRef { auth["secret_ref"] = .string(ref) }
        if let secret { auth["secret"] = .string(secret) }
        object["auth"] = .object(auth)
        if let url = e.url { object["url"] = .string(url) }
        if let at = e.expiresAt { object["expires_at"] = .string(at) }
        if let via = e.via {
            var v: [String: JSONValue] = [:]
            if let p = via.proxyCommand { v["proxy_command"] = .array(p.map { .string($0) }) }
            if let l = via.localForward { v["local_forward"] = .array(l.map { .string($0) }) }
            object["via"] = .object(v)
        }
        if let user = e.user { object["user"] = .string(user) }
        if let key = e.hostKey { object["host_key"] = .string(key) }
        if let probe {
            var p: [String: JSONValue] = ["reachable": .bool(probe.reachable)]
            if let ms = probe.latencyMs { p["latency_ms"] = .number((ms * 1000).rounded() / 1000) }
            if let status = probe.status { p["status"] = .number(Double(status)) }
            if let error = probe.error { p["error"] = .string(error) }
            object["probe"] = .object(p)
        }
        return .object(object)
    }
}
