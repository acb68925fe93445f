import PluginKit

/// The TestPlugin's backend config: where state lives and how to misbehave.
///
/// ```json
/// {"state_dir": "/tmp/x",              // required: one JSON file per sandbox
///  "fail": {"create": "unavailable"},  // operation -> code name it fails with
///  "hang": ["create"],                 // operations that block until the host cancels them
///  "ready_fifo": "/tmp/x/ready",       // before hanging: write "<sandbox id>\n" here
///  "cancelled_fifo": "/tmp/x/cancel",  // after noticing cancellation: write "<sandbox id>\n" here
///  "cancel_cleanup_ms": 300,           // after noticing cancellation, clean up this long before noting it
///  "garbage": ["status"],              // operations answering bytes that are not JSON
///  "garbage_code": ["destroy"],        // operations answering code 42 (outside the closed list)
///  "wrong_shape": ["create"],          // operations answering valid JSON of the wrong shape
///  "huge_error": {"create": 100000000}, // operation -> fails `internal` with a message of that many bytes
///  "huge_response": {"status": 20000000}, // operation -> answers a valid response padded to that many bytes
///  "info_bytes": 10000,                // create's `info` carries a "pad" string of that many bytes
///  "capabilities": ["sandboxer.lifecycle/1"],  // declare only these (default: all five; add sandboxer.build/1 to build)
///  "boot_artifact_kinds": ["rootfs-tar"],  // what describe says it boots; create notes the image_artifact it got
///  "build": {...},                    // see TestBuildOptions
///  "endpoints": [{"name": "web", "kind": "tcp", "target_port": 8080, "host": "127.0.0.1",
///                 "port": 41234, "tls": false, "auth": {"scheme": "none"}}]}  // what `endpoints` answers
/// ```
struct TestPluginConfig: Sendable {
    var stateDir: String
    var fail: [String: PluginError.Code] = [:]
    var hang: Set<String> = []
    var readyFifo: String?
    var cancelledFifo: String?
    /// Milliseconds a hung operation spends "cleaning up" after it notices the cancellation, before it
    /// notes it and returns (a plugin removing what it half made): what the host's exit grace is for.
    var cancelCleanupMs = 0
    var garbage: Set<String> = []
    var garbageCode: Set<String> = []
    var wrongShape: Set<String> = []
    var hugeError: [String: Int] = [:]
    var hugeResponse: [String: Int] = [:]
    var infoBytes = 0
    var capabilities: [String] = [Capability.lifecycle, Capability.exec, Capability.inventory, Capability.timeout, Capability.reach]
    /// The endpoints of every sandbox with a network, passed through as written (tests point them at
    /// loopback listeners they start, or make them break the contract).
    var endpoints: [JSONValue] = []
    /// Operations that crash the process or block forever (`TestPlugin+Crash.swift`).
    var crash: [String: String] = [:]
    /// Artifact kinds describe declares it boots (`boot_artifact_kinds`); empty: none.
    var bootArtifactKinds: [String] = []
    /// How `build` behaves (TestPlugin+Build.swift).
    var build = TestBuildOptions(nil)

    init(_ json: JSONValue) throws(PluginError) {
        guard let stateDir = json["state_dir"]?.stringValue, stateDir.hasPrefix("/") else {
            throw PluginError(.invalidRequest, "The test plugin needs 'state_dir', an absolute path.")
        }
        self.stateDir = stateDir
        if let fail = json["fail"]?.objectValue {
            for (operation, value) in fail {
                guard let name = value.stringValue,
                      let code = PluginError.Code.allCases.first(where: { $0.description == name }) else {
                    throw PluginError(.invalidRequest, "The test plugin's 'fail.\(operation)' must name a code such as \"unavailable\".")
                }
                self.fail[operation] = code
            }
        }
        hang = try Self.names(json, "hang")
        garbage = try Self.names(json, "garbage")
        garbageCode = try Self.names(json, "garbage_code")
        wrongShape = try Self.names(json, "wrong_shape")
        hugeError = try Self.sizes(json, "huge_error")
        hugeResponse = try Self.sizes(json, "huge_response")
        if let n = json["info_bytes"] {
            guard let bytes = n.numberValue, bytes >= 0, bytes <= 1e9, bytes.rounded() == bytes else {
                throw PluginError(.invalidRequest, "The test plugin's 'info_bytes' must be a whole number of bytes up to 1e9.")
            }
            infoBytes = Int(bytes)
        }
        if let n = json["cancel_cleanup_ms"] {
            guard let ms = n.numberValue, ms >= 0, ms <= 60_000, ms.rounded() == ms else {
                throw PluginError(.invalidRequest, "The test plugin's 'cancel_cleanup_ms' must be a whole number of milliseconds up to 60000.")
            }
            cancelCleanupMs = Int(ms)
        }
        crash = try Self.crashes(json)
        readyFifo = json["ready_fifo"]?.stringValue
        cancelledFifo = json["cancelled_fifo"]?.stringValue
        if let caps = json["capabilities"] {
            guard let list = caps.arrayValue?.compactMap(\.stringValue), list.count == caps.arrayValue?.count else {
                throw PluginError(.invalidRequest, "The test plugin's 'capabilities' must be an array of strings.")
            }
            capabilities = list
        }
        bootArtifactKinds = json["boot_artifact_kinds"]?.arrayValue?.compactMap(\.stringValue) ?? []
        build = TestBuildOptions(json["build"])
        if let list = json["endpoints"] {
            guard let items = list.arrayValue else {
                throw PluginError(.invalidRequest, "The test plugin's 'endpoints' must be an array of endpoint objects.")
            }
            endpoints = items
        }
    }

    static func names(_ json: JSONValue, _ key: String) throws(PluginError) -> Set<String> {
        guard let value = json[key] else { return [] }
        guard let list = value.arrayValue, list.allSatisfy({ $0.stringValue != nil }) else {
            throw PluginError(.invalidRequest, "The test plugin's '\(key)' must be an array of operation names.")
        }
        return Set(list.compactMap(\.stringValue))
    }

    /// `{"<operation>": <bytes>}` with whole, non-negative sizes up to 1e9.
    static func sizes(_ json: JSONValue, _ key: String) throws(PluginError) -> [String: Int] {
        guard let value = json[key] else { return [:] }
        var out: [String: Int] = [:]
        for (operation, size) in value.objectValue ?? [:] {
            guard let n = size.numberValue, n >= 0, n <= 1e9, n.rounded() == n else {
                throw PluginError(.invalidRequest, "The test plugin's '\(key).\(operation)' must be a whole number of bytes up to 1e9.")
            }
            out[operation] = Int(n)
        }
        guard value.objectValue != nil else {
            throw PluginError(.invalidRequest, "The test plugin's '\(key)' must map operation names to byte counts.")
        }
        return out
    }

    /// The capability an operation needs; nil for describe (always available).
    static func capability(for operation: String) -> String? {
        switch operation {
        case Operation.create, Operation.status, Operation.destroy: Capability.lifecycle
        case Operation.exec: Capability.exec
        case Operation.inventory: Capability.inventory
        case Operation.setTimeout: Capability.timeout
        case Operation.endpoints: Capability.reach
        case Operation.build: Capability.build
        default: nil
        }
    }
}
