import FoundationEssentials
import Glibc
import Lifecycle
import Config
import Core
import Basics
import PluginProtocol

/// `sandboxer port-forward`: forward a local port to a port inside a sandbox.
struct PortForwardCommand: Command {
    static let spec = CommandSpec(name: "port-forward", summary: "Forward a local port to a port inside a sandbox.",
        arguments: ["ID", "[LOCAL:]REMOTE"],
        discussion: """
        Listens on 127.0.0.1:LOCAL (0 or no LOCAL: a free port) and forwards each connection to the sandbox's
        endpoint for REMOTE: directly, or through the endpoint's via command. Prints one line once it listens
        (with --json, an object with local_port). Runs until SIGINT/SIGTERM (exit 0) or until the sandbox
        ends (exit 1); both close every connection and leave nothing listening. Endpoints that need an HTTP
        header or query secret cannot be forwarded as plain TCP: use their url (sandboxer reach ID --reveal).
        """)

    let invocation: Invocation

    /// How often the sandbox's state is read while forwarding.
    static let statePollSeconds = 0.5

    func run() throws(SandboxerError) -> Int32 {
        let id = parsed.arguments[0]
        let (local, remote) = try Self.parseMapping(parsed.arguments[1])
        // Signals go to one sigwait thread: install before the service or the forwarder starts a thread.
        let stop = StopSignal()
        ShutdownSignals.install { _ in stop.trigger() }
        signal(SIGPIPE, SIG_IGN)  // a client that goes away is an EPIPE on write, not our death
        let service = try openService()
        let descriptor = try service.endpoints(id, ports: [remote])
        let endpoint = try Self.forwardable(descriptor, remote: remote)
        let console = self.console
        let report: @Sendable (String) -> Void = { console.err($0 + "\n") }

        if let argv = endpoint.endpoint.via?.localForward {
            return try runLocalForward(argv, local: local, id: id, remote: remote, endpoint: endpoint, service: service, stop: stop)
        }
        let upstream: TCPForwarder.Upstream = endpoint.endpoint.via?.proxyCommand.map { .command($0) }
            ?? .direct(host: endpoint.endpoint.host, port: endpoint.endpoint.port)
        let forwarder = try TCPForwarder(port: local, upstream: upstream, report: report)
        forwarder.start()
        announce(port: forwarder.port, id: id, remote: remote, endpoint: endpoint)
        let ended = watch(id, service: service, stop: stop) { nil }
        forwarder.stop()
        return finish(ended, id: id)
    }

    /// `[LOCAL:]REMOTE` → (local, remote); LOCAL defaults to 0 (any free port).
    static func parseMapping(_ text: String) throws(SandboxerError) -> (local: Int, remote: Int) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        func port(_ s: String, low: Int) -> Int? {
            guard s.count <= 5, s.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(s), (low...65535).contains(n) else { return nil }
            return n
        }
        switch parts.count {
        case 1:
            if let r = port(parts[0], low: 1) { return (0, r) }
        case 2:
            if let l = port(parts[0], low: 0), let r = port(parts[1], low: 1) { return (l, r) }
        default:
            break
        }
        throw ParsedCommand.usage(spec, "Expected [LOCAL:]REMOTE with ports (LOCAL 0 to 65535, REMOTE 1 to 65535), got '\(text.prefix(40))'.")
    }

    /// The first endpoint for `remote` that plain TCP forwarding can carry.
    static func forwardable(_ d: ReachDescriptor, remote: Int) throws(SandboxerError) -> ReachEndpoint {
        let candidates = d.endpoints.filter { $0.endpoint.targetPort == remote }
        if let usable = candidates.first(where: { r in
            r.endpoint.via != nil || r.endpoint.auth.scheme == .none || r.endpoint.auth.scheme == .sshKey
        }) { return usable }
        let first = candidates.first?.endpoint
        let needs = first.map { "\($0.auth.scheme.rawValue)" + ($0.auth.name.map { " (\($0))" } ?? "") } ?? "authentication"
        throw SandboxerError(.invalidArgument, "Port \(remote) of sandbox \(d.sandboxId) is reached with \(needs) authentication, which plain TCP forwarding cannot add; use the endpoint's url with it (sandboxer reach \(d.sandboxId) --port \(remote) --reveal).")
    }

    /// The ready line: printed once the local port accepts connections.
    func announce(port: Int, id: String, remote: Int, endpoint: ReachEndpoint) {
        let e = endpoint.endpoint
        let target = e.via == nil ? "\(e.host):\(e.port)" : "via \(e.via?.proxyCommand?.first ?? e.via?.localForward?.first ?? "command")"
        if json {
            console.print(JSONValue.object(["local_address": "127.0.0.1", "local_port": .number(Double(port)), "sandbox_id": .string(id),
                                            "remote_port": .number(Double(remote)), "endpoint": .string(e.name)]).rendered(pretty: false))
        } else {
            console.print("Forwarding 127.0.0.1:\(port) to sandbox \(id) port \(remote) (endpoint \(e.name), \(target)).\n")
        }
    }

    /// Waits for a signal (nil), the sandbox leaving ready/active, or `childGone` reporting a reason
    /// to stop; the reason is one sentence without its full stop.
    func watch(_ id: String, service: SandboxService, stop: StopSignal, childGone: () -> String?) -> String? {
        while !stop.wait(seconds: Self.statePollSeconds) {
            if let reason = childGone() { return reason }
            guard let sandbox = try? service.get(id) else { return "Sandbox \(id) is gone from the store" }
            if !SandboxState.live.contains(sandbox.state) { return "Sandbox \(id) is now \(sandbox.state.rawValue)" }
        }
        return nil
    }

    func finish(_ ended: String?, id: String) -> Int32 {
        guard let ended else { return 0 }
        console.err("sandboxer: \(ended); port-forward stopped.\n")
        return 1
    }

    /// `via.local_forward`: the endpoint's own command listens on the local port; we supervise it.
    func runLocalForward(_ argv: [String], local: Int, id: String, remote: Int, endpoint: ReachEndpoint,
                         service: SandboxService, stop: StopSignal) throws(SandboxerError) -> Int32 {
        let port = local != 0 ? local : try Self.freePort()
        let command = argv.map { $0.replacing(EndpointVia.localPortPlaceholder, with: String(port)) }
        let child = try ChildProcess.spawnVia(command, stdio: .quiet)
        defer { child.terminate() }
        // Ready once its port accepts a connection (the command gives no other sign).
        let deadline = Date().addingTimeInterval(15)
        var ready = false
        while !ready && Date() < deadline && !stop.wait(seconds: 0.05) {
            if child.poll() != nil { break }
            if case .success(let fd) = TCPConnect.connect(host: "127.0.0.1", port: port, timeout: 1) { close(fd); ready = true }
        }
        guard ready else {
            if stop.wait(seconds: 0) { return 0 }
            throw SandboxerError(.unavailable, "The endpoint's local_forward command \(command[0].quotedForMessage) did not listen on 127.0.0.1:\(port) within 15 s.")
        }
        announce(port: port, id: id, remote: remote, endpoint: endpoint)
        let ended = watch(id, service: service, stop: stop) { child.poll() != nil ? "The endpoint's local_forward command exited" : nil }
        return finish(ended, id: id)
    }

    /// A port the kernel says is free now (bound and released at once).
    static func freePort() throws(SandboxerError) -> Int {
        let probe = try TCPForwarder(port: 0, upstream: .direct(host: "127.0.0.1", port: 1), report: { _ in })
        let port = probe.port
        probe.stop()
        return port
    }
}
