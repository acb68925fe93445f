import FoundationEssentials
import Glibc
import Core
import Backends
import PluginABI
import PluginProtocol
import Synchronization

// Rules about the contract itself: loading and version negotiation, describe, and how a plugin
// answers requests it must not act on (unknown, undeclared, malformed, with unknown fields).
extension CheckSession {
    /// The operations of each capability the ABI defines.
    static let operationsByCapability: [(capability: String, operations: [String])] = [
        (Capability.lifecycle, [Operation.create, Operation.status, Operation.destroy]),
        (Capability.exec, [Operation.exec]),
        (Capability.inventory, [Operation.inventory]),
        (Capability.timeout, [Operation.setTimeout]),
        (Capability.snapshot, [Operation.snapshot, Operation.restore, Operation.deleteSnapshot]),
        (Capability.build, [Operation.build]),
        (Capability.execStream, Operation.execStreamOperations),
    ]

    /// `load.entry`, `load.refuses-other-major`, `result.free-empty`. False when the library did not load.
    func loadRules() -> Bool {
        // The refusal probe goes first: a plugin that wrongly accepts it may keep the probe's host
        // table, and the real load after it then hands it the right one.
        let calledBack = Mutex<[String]>([])
        let probeContext = PluginHostContext(
            now: { calledBack.withLock { $0.append("now_unix_ms") }; return Date() },
            secret: { _ in calledBack.withLock { $0.append("secret_lookup") }; return nil },
            logLine: { _ in calledBack.withLock { $0.append("log") } })
        let otherMajor = UInt32(SANDBOXER_ABI_MAJOR) + 1
        let refusal = Result { () throws(PluginLoadError) in
            try PluginLoader.entryAccepts(path: options.path, context: probeContext, abiMajor: otherMajor)
        }
        let seen = calledBack.withLock { $0 }

        let context = PluginHostContext(now: { Date() }, secret: options.secret, logLine: options.log)
        do {
            let loaded = try PluginLoader.load(path: options.path, context: context)
            plugin = loaded
            record(.pass, "load.entry", "\(SANDBOXER_PLUGIN_ENTRY_SYMBOL) returned a table the host accepts (plugin \(loaded.name) \(loaded.version), ABI \(loaded.abiMajor).\(loaded.abiMinor))")
        } catch {
            record(.fail, "load.entry", error.message)
            return false
        }

        switch refusal {
        case .success(true):
            record(.fail, "load.refuses-other-major", "the entry returned a table to a host of ABI major \(otherMajor); it MUST return NULL for another major")
        case .success(false) where !seen.isEmpty:
            record(.fail, "load.refuses-other-major", "the entry refused ABI major \(otherMajor) but called \(Set(seen).sorted().joined(separator: ", ")) first; it MUST NOT call the host when refusing")
        case .success(false):
            record(.pass, "load.refuses-other-major", "the entry returns NULL to a host of ABI major \(otherMajor) and calls nothing")
        case .failure(let error):
            record(.fail, "load.refuses-other-major", error.message)
        }

        // A crash here ends the check: the plugin frees what it did not allocate.
        plugin?.freeEmptyResult()
        record(.pass, "result.free-empty", "result_free accepts a result with NULL data and length 0")
        return true
    }

    /// `instance.create`: instance_create accepts the config. False when it did not.
    func instanceRules() -> Bool {
        guard let plugin else { return false }
        do {
            backend = try plugin.makeUndescribedBackend(name: plugin.name, config: options.config, callTimeout: timeouts.other)
            record(.pass, "instance.create", "instance_create accepts the config (\(Self.configSummary(options.config)))")
            return true
        } catch {
            record(.fail, "instance.create", error.message)
            return false
        }
    }

    static func configSummary(_ config: JSONValue) -> String {
        let keys = config.objectValue?.keys.sorted() ?? []
        return keys.isEmpty ? "empty" : "keys: " + keys.joined(separator: ", ")
    }

    /// `describe.shape`, `describe.role`.
    func describeRules() {
        switch call(Operation.describe, Data("{}".utf8)) {
        case .failure(let error):
            record(.fail, "describe.shape", "describe failed: \(Self.describe(error))")
        case .success(let data):
            let problems = Self.describeProblems(data)
            if problems.isEmpty, let described = try? JSONDecoder().decode(DescribeResponse.self, from: data) {
                capabilities = described.capabilities
                let named = described.name == plugin?.name ? "" : " (the table says \(plugin?.name ?? "?"))"
                record(.pass, "describe.shape", "name \(described.name)\(named), version \(described.version), capabilities: \(capabilities.isEmpty ? "none" : capabilities.joined(separator: ", "))")
            } else {
                // Go on with whatever capabilities can be read, to check the rest.
                capabilities = (try? JSONDecoder().decode(JSONValue.self, from: data))?["capabilities"]?.arrayValue?.compactMap(\.stringValue) ?? []
                record(.fail, "describe.shape", problems.joined(separator: "; "))
            }
        }
        if declares(Capability.lifecycle) || declares(Capability.build) {
            record(.pass, "describe.role", declares(Capability.lifecycle) ? "a backend (\(Capability.lifecycle))" : "a builder (sandboxer.build/1)")
        } else {
            record(.fail, "describe.role", "declares neither \(Capability.lifecycle) (every backend MUST) nor sandboxer.build/1 (a builder)")
        }
    }

    /// What is wrong with a describe response: `{"name","version","capabilities":[...]}`, each
    /// capability `namespace.name/revision`.
    static func describeProblems(_ data: Data) -> [String] {
        guard let object = (try? JSONDecoder().decode(JSONValue.self, from: data))?.objectValue else {
            return ["the response is not a JSON object"]
        }
        var problems: [String] = []
        if (object["name"]?.stringValue ?? "").isEmpty { problems.append("'name' must be a non-empty string") }
        if (object["version"]?.stringValue ?? "").isEmpty { problems.append("'version' must be a non-empty string") }
        guard let list = object["capabilities"]?.arrayValue else {
            return problems + ["'capabilities' must be an array of strings"]
        }
        for item in list {
            guard let text = item.stringValue else { problems.append("'capabilities' holds a value that is not a string"); continue }
            if !isCapability(text) { problems.append("capability \(text.debugDescription) is not namespace.name/revision") }
        }
        return problems
    }

    /// `namespace.name/revision`: dotted lowercase words, a slash, a positive integer.
    static func isCapability(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let revision = Int(parts[1]), revision > 0, !parts[1].hasPrefix("0") else { return false }
        let words = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        return words.count >= 2 && words.allSatisfy { word in
            !word.isEmpty && word.utf8.allSatisfy { c in
                (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                    || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
            }
        }
    }

    /// `request.unknown-operation`, `request.undeclared-capability`, `request.malformed-json`.
    func requestRules() {
        let unknown = call("sandboxer_check_no_such_operation", Data("{}".utf8))
        if case .failure(let error) = unknown, error.code == .notImplemented {
            record(.pass, "request.unknown-operation", "an unknown operation answers not_implemented")
        } else {
            record(.fail, "request.unknown-operation", "an unknown operation answered \(Self.codeName(unknown)); it MUST answer not_implemented")
        }

        let undeclared = Self.operationsByCapability.filter { !declares($0.capability) }.flatMap(\.operations)
        if undeclared.isEmpty {
            record(.skip, "request.undeclared-capability", "every capability of the ABI is declared")
        } else {
            var wrong: [String] = []
            for operation in undeclared {
                let result = call(operation, plausibleRequest(operation), timeout: timeout(for: operation))
                if case .failure(let error) = result, error.code == .notImplemented { continue }
                wrong.append("\(operation) answered \(Self.codeName(result))")
                // It made something it should not have: remove it at the end.
                if case .success(let data) = result, [Operation.create, Operation.restore].contains(operation),
                   let made = try? JSONDecoder().decode(CreateResponse.self, from: data) {
                    leftovers.append(SandboxRef(sandboxId: ids.unknownId, backendRef: made.backendRef))
                }
            }
            if wrong.isEmpty {
                record(.pass, "request.undeclared-capability", "\(undeclared.joined(separator: ", ")) answer not_implemented")
            } else {
                record(.fail, "request.undeclared-capability", wrong.joined(separator: ", ") + "; an operation whose capability is not declared MUST answer not_implemented")
            }
        }

        let declared = Self.operationsByCapability.filter { declares($0.capability) }.flatMap(\.operations)
        guard !declared.isEmpty else {
            record(.skip, "request.malformed-json", "no operation with a request is declared")
            return
        }
        var wrong: [String] = []
        for operation in declared {
            let result = call(operation, Data(#"{"sandbox_id": "sbx-"#.utf8), timeout: timeout(for: operation))
            if case .failure(let error) = result, error.code == .invalidRequest { continue }
            wrong.append("\(operation) answered \(Self.codeName(result))")
        }
        if wrong.isEmpty {
            record(.pass, "request.malformed-json", "\(declared.joined(separator: ", ")) answer invalid_request to a request that is not JSON")
        } else {
            record(.fail, "request.malformed-json", wrong.joined(separator: ", ") + "; a malformed request MUST answer invalid_request")
        }
    }

    /// Members no reader knows, to be ignored: `request.unknown-fields` adds them to requests.
    static let unknownFields: [String: JSONValue] = [
        "x_sandboxer_check_unknown": .object(["nested": .array([1, "two", .null, .object([:])])]),
        "x_sandboxer_check_flag": true,
    ]

    /// A well-formed request for `operation` that names nothing the plugin holds.
    func plausibleRequest(_ operation: String) -> Data {
        let ref = SandboxRef(sandboxId: ids.unknownId, backendRef: ids.unknownRef)
        switch operation {
        case Operation.create: return Self.body(ids.create(ids.unknownId))
        case Operation.exec: return Self.body(ExecRequest(sandboxId: ref.sandboxId, backendRef: ref.backendRef, argv: ["true"], timeoutSeconds: 10))
        case Operation.inventory: return Self.body(InventoryRequest(hostId: ids.hostId))
        case Operation.setTimeout: return Self.body(SetTimeoutRequest(sandboxId: ref.sandboxId, backendRef: ref.backendRef, timeoutSeconds: 60))
        case Operation.snapshot:
            return Self.body(SnapshotRequest(sandboxId: ref.sandboxId, backendRef: ref.backendRef, snapshotId: ids.snapshotId, labels: ids.labels(ref.sandboxId)))
        case Operation.restore: return Self.body(RestoreRequest(create: ids.create(ids.unknownId), snapshotRef: "sandboxer-check-none"))
        case Operation.deleteSnapshot: return Self.body(DeleteSnapshotRequest(snapshotId: ids.snapshotId, snapshotRef: "sandboxer-check-none"))
        case Operation.build:
            return Self.body(BuildRequest(buildId: "bld-" + CheckIDs.hex(16), template: "/nonexistent/sandboxer-check.json",
                                          vars: [:], outputDir: "/nonexistent/sandboxer-check-out", cacheKey: CheckIDs.hex(64)))
        default: return Self.body(ref)
        }
    }

    /// The host's built-in deadline for `operation`.
    func timeout(for operation: String) -> Double {
        switch operation {
        case Operation.create: timeouts.create
        case Operation.restore: timeouts.create + timeouts.snapshot
        case Operation.destroy: timeouts.destroy
        case Operation.snapshot, Operation.deleteSnapshot: timeouts.snapshot
        case Operation.exec: 60 + 30
        default: timeouts.other
        }
    }
}
