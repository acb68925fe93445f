import FoundationEssentials
import Glibc
import Lifecycle
import Config
import Core
import Basics
import PluginProtocol

/// `sandboxer reach`: the reachability descriptor of a sandbox (`sandboxer.reach/v1`).
struct ReachCommand: Command {
    static let spec = CommandSpec(name: "reach", summary: "Show how to reach a sandbox's services (the reachability descriptor).",
        arguments: ["ID"],
        options: [.init(name: "port", value: "N", repeatable: true, help: "Only this port inside the sandbox (repeatable); each must have an endpoint."),
        .init(name: "probe", help: "Try each endpoint once (TCP connect, or HTTP GET for http/https); exit 1 if any is unreachable."),
        .init(name: "reveal", help: "Show the secrets endpoints need instead of their references.")],
        discussion: "Without --port: the ports of the profile's reach, or every port the backend knows. --json prints the\ndescriptor (docs/schemas/reach-v1.schema.json), for ops-bridge and scripts. See docs/reachability.md.")

    let invocation: Invocation

    func run() throws(SandboxerError) -> Int32 {
        let ports = try Self.ports(parsed.all("port"), spec: Self.spec)
        let service = try openService()
        var descriptor = try service.endpoints(parsed.arguments[0], ports: ports, reveal: parsed.has("reveal"))
        if parsed.has("probe") { descriptor = ReachProbe.run(descriptor) }
        if json { emit(descriptor.jsonValue) } else { console.print(Self.table(descriptor, probed: parsed.has("probe"))) }
        let unreachable = descriptor.endpoints.filter { $0.probe?.reachable == false }
        if !json {
            for e in unreachable {
                var why = e.probe?.error ?? "no answer"
                while why.hasSuffix(".") { why.removeLast() }
                console.err("sandboxer: endpoint \(e.endpoint.name) is unreachable: \(why).\n")
            }
        }
        return unreachable.isEmpty ? 0 : 1
    }

    /// `--port` values as port numbers; a usage error names a bad one.
    static func ports(_ words: [String], spec: CommandSpec) throws(SandboxerError) -> [Int] {
        var out: [Int] = []
        for word in words {
            guard word.count <= 5, let n = Int(word), (1...65535).contains(n) else {
                throw ParsedCommand.usage(spec, "The option '--port' takes a port number from 1 to 65535, got '\(word.prefix(20))'.")
            }
            out.append(n)
        }
        return out
    }

    static func table(_ d: ReachDescriptor, probed: Bool) -> String {
        var lines = ["sandbox \(d.sandboxId), reachable until \(d.expiresAt.map(RFC3339.format) ?? "-")"]
        var table = probed ? Table("NAME", "KIND", "PORT", "ADDRESS", "AUTH", "EXPIRES", "PROBE", "URL")
                           : Table("NAME", "KIND", "PORT", "ADDRESS", "AUTH", "EXPIRES", "URL")
        for r in d.endpoints {
            let e = r.endpoint
            let address = (e.host.contains(":") ? "[\(e.host)]" : e.host) + ":\(e.port)" + (e.via == nil ? "" : " (via)")
            var auth = e.auth.scheme.rawValue + (e.auth.name.map { " \($0)" } ?? "")
            if let secret = r.secret { auth += "=" + secret } else if let ref = e.auth.secretRef { auth += " (secret \(ref))" }
            let probe = r.probe.map { p in p.reachable ? "ok " + String(cFormat: "%.1fms", p.latencyMs ?? 0) + (p.status.map { " \($0)" } ?? "")
                                                       : "unreachable" } ?? ""
            if probed {
                table.add(e.name, e.kind.rawValue, String(e.targetPort), address, auth, e.expiresAt ?? "-", probe, e.url ?? "-")
            } else {
                table.add(e.name, e.kind.rawValue, String(e.targetPort), address, auth, e.expiresAt ?? "-", e.url ?? "-")
            }
        }
        lines.append(d.endpoints.isEmpty ? "no endpoints\n" : table.rendered)
        return lines.joined(separator: "\n")
    }
}
