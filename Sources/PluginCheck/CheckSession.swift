import FoundationEssentials
import Glibc
import Core
import Backends
import PluginProtocol
import Synchronization

/// One run of `plugin check`: the loaded plugin, what it declared, the sandbox it made, the results.
final class CheckSession {
    let options: PluginCheck.Options
    let progress: (RuleResult) -> Void
    private(set) var results: [RuleResult] = []
    /// Contract breaches seen in any answer, for `response.wellformed`.
    let replies = ReplyLog()
    let ids = CheckIDs()
    /// The host's built-in deadlines: a hanging plugin fails a rule instead of stalling the check.
    let timeouts = BackendRegistry.Timeouts()

    var plugin: LoadedPlugin?
    var backend: Backend?
    var capabilities: [String] = []
    /// The sandbox `lifecycle.create` made, while it lives.
    var sandbox: SandboxRef?
    /// Resources to remove at the end if a rule did not get to it.
    var leftovers: [SandboxRef] = []
    var leftoverSnapshots: [DeleteSnapshotRequest] = []

    init(options: PluginCheck.Options, progress: @escaping (RuleResult) -> Void) {
        self.options = options
        self.progress = progress
    }

    var report: PluginCheckReport {
        PluginCheckReport(path: options.path,
                          plugin: plugin.map { ($0.name, $0.version, "\($0.abiMajor).\($0.abiMinor)") },
                          capabilities: capabilities, results: results)
    }

    /// The rules in order; each one that cannot run says why.
    func run() {
        guard loadRules() else {
            skipRest(after: "load.entry", "the library did not load")
            return
        }
        guard instanceRules() else {
            skipRest(after: "instance.create", "no instance")
            return
        }
        describeRules()
        requestRules()
        lifecycleRules()
        buildRules()
        cleanUp()
        record(replies.outcome)
        backend = nil   // instance_destroy
    }

    /// Records one result and hands it to `progress`.
    func record(_ result: RuleResult) {
        results.append(result)
        progress(result)
    }

    func record(_ outcome: RuleOutcome, _ rule: String, _ detail: String) {
        record(RuleResult(outcome, rule, detail))
    }

    /// Skips every rule after `rule` that has not run.
    func skipRest(after rule: String, _ reason: String) {
        guard let index = PluginCheck.rules.firstIndex(of: rule) else { return }
        for later in PluginCheck.rules[(index + 1)...] where !results.contains(where: { $0.rule == later }) {
            record(.skip, later, reason)
        }
    }

    func declares(_ capability: String) -> Bool { capabilities.contains(capability) }

    /// One call through the host's own call path; every answer is also judged by `replies`.
    func call(_ operation: String, _ body: Data, timeout: Double? = nil) -> Result<Data, BackendError> {
        guard let backend else {
            return .failure(BackendError(.internal, "No instance.", backend: "check", operation: operation))
        }
        let (reply, result) = backend.probe(operation, body, timeout: timeout ?? timeouts.other)
        if let reply { replies.note(operation, reply) }
        return result
    }

    /// A typed call: encodes `request` (plus `extra` members), decodes the response as the host would.
    func call<Response: Decodable>(_ operation: String, _ request: some Encodable, as: Response.Type,
                                   extra: [String: JSONValue] = [:], timeout: Double? = nil) -> Result<Response, BackendError> {
        let body = Self.body(request, extra: extra)
        switch call(operation, body, timeout: timeout) {
        case .failure(let error): return .failure(error)
        case .success(let data):
            do {
                return .success(try Backend.decode(Response.self, data, backend: "check", operation: operation))
            } catch {
                return .failure(error)
            }
        }
    }

    /// A request as JSON bytes, with `extra` members added (unknown fields).
    static func body(_ request: some Encodable, extra: [String: JSONValue] = [:]) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard var object = (try? encoder.encode(request)).flatMap({ try? JSONDecoder().decode(JSONValue.self, from: $0) })?.objectValue else {
            return Data("{}".utf8)
        }
        object.merge(extra) { _, new in new }
        return (try? encoder.encode(JSONValue.object(object))) ?? Data("{}".utf8)
    }

    /// "not_found: No such sandbox." — an error as a rule's detail shows it.
    static func describe(_ error: BackendError) -> String {
        "\(error.code.rawValue): \(error.message)"
    }

    /// The code name of a result, for details like "answered ok".
    static func codeName<T>(_ result: Result<T, BackendError>) -> String {
        switch result {
        case .success: "ok"
        case .failure(let error): error.code.rawValue
        }
    }
}

/// Ids for everything the check makes: fresh per run, shaped as the host's, labelled as the host's.
struct CheckIDs: Sendable {
    let hostId = "plugin-check-" + CheckIDs.hex(8)
    let profile = "plugin-check"
    let sandboxId = "sbx-" + CheckIDs.hex(16)
    let restoredId = "sbx-" + CheckIDs.hex(16)
    let snapshotId = "snap-" + CheckIDs.hex(16)
    /// A sandbox nobody created, for the not_found rules.
    let unknownId = "sbx-" + CheckIDs.hex(16)
    var unknownRef: String { "sandboxer-check-" + unknownId }

    static func hex(_ digits: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        return (0..<digits).map { _ in String(rng.next(upperBound: UInt8(16)), radix: 16) }.joined()
    }

    /// The ownership labels the host puts on everything it creates.
    func labels(_ sandboxId: String) -> [String: String] {
        [OwnershipLabel.host: hostId, OwnershipLabel.sandbox: sandboxId, OwnershipLabel.profile: profile]
    }

    func create(_ sandboxId: String) -> CreateRequest {
        CreateRequest(sandboxId: sandboxId, hostId: hostId, profile: profile, image: nil, resources: ResourceLimits(),
                      network: "none", env: [:], labels: labels(sandboxId), timeoutSeconds: 3600)
    }
}

/// Contract breaches in the answers of a run: codes outside the closed list, success bytes that are
/// not a UTF-8 JSON object, messages that are not UTF-8, broken buffers, oversized answers.
final class ReplyLog: Sendable {
    private let state = Mutex<(calls: Int, problems: [String])>((0, []))
    /// Problems listed in the rule's detail; more are counted.
    static let shown = 3

    func note(_ operation: String, _ reply: PluginReply) {
        let problem = Self.problem(operation, reply)
        state.withLock { state in
            state.calls += 1
            if let problem, !state.problems.contains(problem) { state.problems.append(problem) }
        }
    }

    static func problem(_ operation: String, _ reply: PluginReply) -> String? {
        if reply.brokenBuffer { return "'\(operation)' returned NULL data with a length of \(reply.length)" }
        // 8 is SBX_CANCELLED (ABI 1.1): the answer to a call the host cancelled (`build.cancel`).
        if !(0...8).contains(reply.code) { return "'\(operation)' returned code \(reply.code), outside the closed list 0–8" }
        if reply.oversized { return "'\(operation)' answered \(reply.length) bytes, more than the host accepts" }
        if reply.code == 0 {
            guard String(validating: reply.bytes, as: UTF8.self) != nil else { return "'\(operation)' answered bytes that are not UTF-8" }
            guard JSONValue.isObject(reply.bytes) else {
                return "'\(operation)' answered bytes that are not a JSON object"
            }
            return nil
        }
        // A message the host cut may end inside a character: judge only whole ones.
        if reply.bytes.count == reply.length, String(validating: reply.bytes, as: UTF8.self) == nil {
            return "'\(operation)' gave an error message that is not UTF-8"
        }
        return nil
    }

    var outcome: RuleResult {
        let (calls, problems) = state.withLock { $0 }
        guard !problems.isEmpty else {
            return RuleResult(.pass, "response.wellformed", "all \(calls) answers: codes from the closed list, successes UTF-8 JSON objects")
        }
        let more = problems.count > Self.shown ? " (and \(problems.count - Self.shown) more)" : ""
        return RuleResult(.fail, "response.wellformed",
                          problems.prefix(Self.shown).joined(separator: "; ") + more + "; the host reports such answers as the plugin's fault (garbage)")
    }
}
