import FoundationEssentials
import Basics
import Glibc
import PluginKit

/// A fake backend for tests of the host's lifecycle logic: no root, no VMs, state in plain files.
///
/// Sandboxes are JSON files in `state_dir` (see `TestSandboxRecord`), so state survives across
/// processes. The config can make any operation fail with a code, hang until cancelled, or answer
/// garbage (see `TestPluginConfig`). `exec` understands a few argv forms:
/// `["exit", "N"]` exits N; `["secret", NAME]` prints the host's secret NAME (exit 1 if none);
/// `["now"]` prints the host clock in ms; `["log", MESSAGE]` logs MESSAGE through the host at warning
/// level, `["debug", MESSAGE]` at debug level (both with the sandbox's ids as metadata);
/// anything else prints `ran: <argv joined by spaces>`. `endpoints` answers the config's `endpoints`
/// (those whose target_port was asked for) for sandboxes created with a network other than none.
final class TestPlugin: SandboxerPlugin {
    static let name = "test"
    static let version = "1.0.0"
    static let capabilities = [Capability.lifecycle, Capability.exec, Capability.inventory, Capability.timeout, Capability.reach]

    let config: TestPluginConfig
    let store: TestPluginStore
    let host: PluginHost

    init(config: JSONValue, host: PluginHost) throws(PluginError) {
        self.config = try TestPluginConfig(config)
        self.store = TestPluginStore(dir: self.config.stateDir)
        self.host = host
        var isDir = false
        guard FileManager.default.fileExists(atPath: store.dir, isDirectory: &isDir), isDir else {
            throw PluginError(.invalidRequest, "The test plugin's state_dir \(store.dir) is not a directory.")
        }
    }

    /// Applies the misbehaviour the config asks for, then dispatches as any plugin would.
    func invoke(operation: String, request: Data, call: PluginCall) throws(PluginError) -> Data {
        // Every endpoints call is written down, so tests can prove the host made none.
        if operation == Operation.endpoints { store.note("endpoints.log", String(decoding: request, as: UTF8.self)) }
        crashIfAsked(operation)
        if let code = config.fail[operation] {
            throw PluginError(code, "The test plugin was told to fail '\(operation)' with \(code).")
        }
        if config.hang.contains(operation) {
            try hang(operation, request, call)
        }
        if config.garbage.contains(operation) {
            return Data("this is not JSON {\u{1}".utf8)
        }
        if config.wrongShape.contains(operation) {
            return Data(#"{"wrong":"shape"}"#.utf8)
        }
        if config.garbageCode.contains(operation) {
            throw PluginError(.internal, TestPluginTable.outOfRangeMarker)
        }
        if let bytes = config.hugeError[operation] {
            // The table wrapper swaps this for the message itself, allocated once (no copies).
            throw PluginError(.internal, TestPluginTable.hugeMessageMarker + String(bytes))
        }
        if let bytes = config.hugeResponse[operation] {
            let head = #"{"state":"running","info":{"pad":""#, tail = #""}}"#
            return Data(head.utf8) + Data(repeating: UInt8(ascii: "x"), count: max(0, bytes - head.utf8.count - tail.utf8.count))
                + Data(tail.utf8)
        }
        if operation == Operation.describe {
            do {
                return try JSONEncoder().encode(DescribeResponse(name: Self.name, version: Self.version, capabilities: config.capabilities,
                                                                    bootArtifactKinds: config.bootArtifactKinds.isEmpty ? nil : config.bootArtifactKinds))
            } catch {
                throw PluginError(.internal, "The test plugin could not encode describe.")
            }
        }
        if let needed = TestPluginConfig.capability(for: operation), !config.capabilities.contains(needed) {
            throw .notImplemented(operation)
        }
        if operation == Operation.endpoints { return try endpoints(request) }
        return try PluginDispatch.dispatch(self, operation: operation, request: request, call: call)
    }

    /// `endpoints` (PluginKit has no typed method for it yet): the configured endpoints whose
    /// target_port was asked for (all of them for an empty list).
    func endpoints(_ body: Data) throws(PluginError) -> Data {
        let request: EndpointsRequest
        do { request = try JSONDecoder().decode(EndpointsRequest.self, from: body) } catch {
            throw PluginError(.invalidRequest, "The 'endpoints' request is not valid JSON for this operation.")
        }
        let record = try store.read(request.backendRef)
        guard let network = record.network, network != "none" else {
            throw PluginError(.invalidRequest, "The sandbox \(request.sandboxId) has no network (network: none).")
        }
        if let bad = request.ports.first(where: { !(1...65535).contains($0) }) {
            throw PluginError(.invalidRequest, "The port \(bad) is outside 1–65535.")
        }
        let chosen = config.endpoints.filter { e in
            request.ports.isEmpty || request.ports.contains { Double($0) == e["target_port"]?.numberValue }
        }
        do {
            return try JSONEncoder().encode(JSONValue.object(["endpoints": .array(chosen)]))
        } catch {
            throw PluginError(.internal, "The test plugin could not encode its endpoints.")
        }
    }

    /// Blocks until the host cancels the call; tells the test when it starts and when it noticed.
    func hang(_ operation: String, _ request: Data, _ call: PluginCall) throws(PluginError) {
        let fields = (try? JSONDecoder().decode(JSONValue.self, from: request)) ?? .object([:])
        let id = fields["sandbox_id"]?.stringValue ?? fields["host_id"]?.stringValue ?? operation
        if let fifo = config.readyFifo { TestPluginStore.signal(fifo: fifo, id) }
        // Polling is the ABI's cancellation model; 1 ms keeps the test fast without spinning.
        while !call.isCancelled { usleep(1000) }
        // The cleanup a real plugin does here takes time; the host must not exit under it.
        if config.cancelCleanupMs > 0 { usleep(useconds_t(config.cancelCleanupMs) * 1000) }
        store.note("cancelled.log", "\(operation) \(id)")
        if let fifo = config.cancelledFifo { TestPluginStore.signal(fifo: fifo, id) }
        throw PluginError(.unavailable, "The host cancelled '\(operation)'.")
    }

    func nowMs() -> Int64 { Int64((host.now().timeIntervalSince1970 * 1000).rounded()) }

    func create(_ request: CreateRequest, call: PluginCall) throws(PluginError) -> CreateResponse {
        try TestPluginStore.checkName(request.sandboxId, "sandbox_id")
        let ref = "tp-" + request.sandboxId
        guard !store.exists(ref) else {
            throw PluginError(.conflict, "The test plugin already has a sandbox '\(ref)'.")
        }
        if let artifact = request.imageArtifact {
            // Proves which image a create booted; a missing file is the host's bug.
            guard FileManager.default.fileExists(atPath: artifact.path) else {
                throw PluginError(.invalidRequest, "The image artifact \(artifact.path) does not exist.")
            }
            store.note("create-images.log", "\(request.sandboxId) \(artifact.kind) \(artifact.digest) \(artifact.path)")
        }
        let now = nowMs()
        let record = TestSandboxRecord(
            backendRef: ref, sandboxId: request.sandboxId, hostId: request.hostId, profile: request.profile,
            labels: request.labels, createdAtMs: now, timeoutSeconds: request.timeoutSeconds,
            deadlineMs: request.timeoutSeconds.map { now + $0 * 1000 }, network: request.network)
        try store.write(record)
        host.log(.info, "created \(ref)", metadata: ["sandbox_id": request.sandboxId])
        var info: [String: JSONValue] = ["created_at_ms": .number(Double(now))]
        if config.infoBytes > 0 { info["pad"] = .string(String(repeating: "i", count: config.infoBytes)) }
        return CreateResponse(backendRef: ref, info: info)
    }

    func status(_ request: SandboxRef, call: PluginCall) throws(PluginError) -> StatusResponse {
        let record = try store.read(request.backendRef)
        let stopped = record.deadlineMs.map { nowMs() >= $0 } ?? false
        var info: [String: JSONValue] = ["created_at_ms": .number(Double(record.createdAtMs))]
        if let deadline = record.deadlineMs { info["deadline_ms"] = .number(Double(deadline)) }
        return StatusResponse(state: stopped ? "stopped" : "running", info: info)
    }

    func destroy(_ request: SandboxRef, call: PluginCall) throws(PluginError) {
        try store.remove(request.backendRef)
    }

    /// Every sandbox in state_dir, whatever its host label: filtering by ownership is the host's job.
    func inventory(_ request: InventoryRequest, call: PluginCall) throws(PluginError) -> InventoryResponse {
        InventoryResponse(resources: store.all().map {
            InventoryItem(backendRef: $0.backendRef, sandboxId: $0.sandboxId, labels: $0.labels, createdAtMs: $0.createdAtMs)
        })
    }

    func exec(_ request: ExecRequest, call: PluginCall) throws(PluginError) -> ExecResponse {
        _ = try store.read(request.backendRef)
        let argv = request.argv
        switch argv.first {
        case "exit" where argv.count == 2:
            guard let code = Int32(argv[1]) else { break }
            return ExecResponse(exitCode: code, stdout: Data("ran: \(argv.joined(separator: " "))\n".utf8), stderr: Data())
        case "secret" where argv.count == 2:
            guard let value = host.secret(argv[1]) else {
                return ExecResponse(exitCode: 1, stdout: Data(), stderr: Data("no secret \(argv[1])\n".utf8))
            }
            return ExecResponse(exitCode: 0, stdout: Data(value.utf8), stderr: Data())
        case "now" where argv.count == 1:
            return ExecResponse(exitCode: 0, stdout: Data("\(nowMs())\n".utf8), stderr: Data())
        case "log" where argv.count == 2:
            host.log(.warning, argv[1], metadata: ["backend_ref": request.backendRef])
        case "debug" where argv.count == 2:
            host.log(.debug, argv[1], metadata: ["backend_ref": request.backendRef, "sandbox_id": request.sandboxId])
        default:
            break
        }
        return ExecResponse(exitCode: 0, stdout: Data("ran: \(argv.joined(separator: " "))\n".utf8), stderr: Data())
    }

    func setTimeout(_ request: SetTimeoutRequest, call: PluginCall) throws(PluginError) {
        var record = try store.read(request.backendRef)
        record.timeoutSeconds = request.timeoutSeconds
        record.deadlineMs = nowMs() + request.timeoutSeconds * 1000
        try store.write(record)
    }
}
