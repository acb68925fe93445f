import Foundation
import Glibc
import PluginKit
import Synchronization

/// Speaks the node helper protocol (docs/backends/byok-node-protocol.md) to `sandboxer-node` on the
/// hosts: installs it content-addressed, pushes blobs, runs its JSON verbs.
final class NodeClient: Sendable {
    let transport: SSHTransport
    /// Path of the helper on this machine, and its sha256.
    let helperPath: String
    let helperHash: String
    /// Hosts on which this process has verified the helper (saves a round trip per call).
    private let verified = Mutex<Set<String>>([])

    init(transport: SSHTransport, helperPath: String) throws(PluginError) {
        self.transport = transport
        self.helperPath = helperPath
        guard LocalFiles.size(helperPath) != nil else {
            throw PluginError(.unavailable, "The byok node helper \(helperPath) is missing: build the product sandboxer-node (it ships next to libSandboxerBYOK.so) or set 'node_helper'.")
        }
        helperHash = try HashCache.sha256(helperPath, cacheFile: transport.config.dataDir + "/byok/node-helper.sha256")
    }

    /// The helper's path on a host.
    func remoteHelper(_ host: BYOKHost) -> String { "\(host.nodeDir)/bin/sandboxer-node-\(helperHash)" }

    /// Pushes the helper to the host unless a copy with the right hash is there.
    func ensureHelper(_ host: BYOKHost, call: PluginCall) throws(PluginError) {
        if verified.withLock({ $0.contains(host.name) }) { return }
        let path = remoteHelper(host)
        let q = ShellQuote.word(path)
        let (_, have) = try transport.capture(host, "if [ -f \(q) ]; then sha256sum < \(q); fi", call: call)
        if !String(decoding: have, as: UTF8.self).hasPrefix(helperHash) {
            guard let bytes = FileManager.default.contents(atPath: helperPath) else {
                throw LocalFiles.failure("read", helperPath)
            }
            let dir = ShellQuote.word(host.nodeDir + "/bin")
            let tmp = ShellQuote.word(path + ".tmp")
            let line = "umask 077 && mkdir -p \(dir) && cat > \(tmp).$$ && chmod 0700 \(tmp).$$ && mv -f \(tmp).$$ \(q) && sha256sum < \(q)"
            let (_, after) = try transport.capture(host, line, input: bytes, timeout: 300, call: call)
            guard String(decoding: after, as: UTF8.self).hasPrefix(helperHash) else {
                throw PluginError(.unavailable, "The node helper copied to byok host \(host.name) does not have the expected sha256 (the copy failed or was changed).")
            }
        }
        verified.withLock { _ = $0.insert(host.name) }
    }

    /// The helper's command line for one verb. Until this process has seen the helper run on the
    /// host, the line checks the copy's sha256 itself before running it (one round trip, not two);
    /// a missing or changed copy ends with `missingStatus` and `missingMarker` on stderr instead.
    func command(_ host: BYOKHost, _ verb: [String]) -> String {
        let line = "exec " + ShellQuote.line([remoteHelper(host), "--node-dir", host.nodeDir] + verb)
        if verified.withLock({ $0.contains(host.name) }) { return line }
        let q = ShellQuote.word(remoteHelper(host))
        return "case \"$(sha256sum < \(q) 2>/dev/null)\" in \(helperHash)*) \(line);; esac; echo \(Self.missingMarker) >&2; exit \(Self.missingStatus)"
    }

    /// How a `command` line says the host has no verified copy of the helper.
    static let missingStatus: Int32 = 97
    static let missingMarker = "sandboxer-node-copy-missing"

    /// Whether a run of `command` found no verified helper copy (so nothing ran).
    static func helperMissing(_ result: SSHTransport.Result) -> Bool {
        result.status == missingStatus && String(decoding: result.stderr.prefix(4096), as: UTF8.self).contains(missingMarker)
    }

    /// Runs `command` for a verb; when the host lacks the helper, pushes it and runs the line once more.
    /// `attempt` runs one line and returns its result.
    func withHelper(_ host: BYOKHost, call: PluginCall,
                    _ attempt: (String) throws(PluginError) -> SSHTransport.Result, verb: [String]) throws(PluginError) -> SSHTransport.Result {
        var result = try attempt(command(host, verb))
        if Self.helperMissing(result) {
            verified.withLock { _ = $0.remove(host.name) }
            try ensureHelper(host, call: call)
            result = try attempt(command(host, verb))
        }
        // The copy ran (status 0 is the helper's own): later lines of this process skip the check.
        if result.status == 0 { verified.withLock { _ = $0.insert(host.name) } }
        return result
    }

    /// Runs one JSON verb; returns the success object or throws the helper's error.
    func verb(_ host: BYOKHost, _ args: [String], input: Data = Data(), timeout: TimeInterval = 60,
              call: PluginCall) throws(PluginError) -> [String: JSONValue] {
        var out = Data()
        let result = try withHelper(host, call: call, { line throws(PluginError) in
            let (r, o) = try transport.capture(host, line, input: input, timeout: timeout, call: call)
            out = o
            return r
        }, verb: args)
        return try Self.parse(out, status: result.status, stderr: result.stderr, host: host, verb: args.first ?? "")
    }

    /// Decodes a verb's one JSON object; an exit without one is a transport (or helper) failure.
    static func parse(_ out: Data, status: Int32, stderr: Data, host: BYOKHost, verb: String) throws(PluginError) -> [String: JSONValue] {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: out), let object = value.objectValue else {
            if status == 255 {
                throw PluginError(.unavailable, "The ssh connection to byok host \(host.name) failed during '\(verb)': \(SSHTransport.firstLine(stderr)).")
            }
            throw PluginError(.internal, "The node helper on byok host \(host.name) gave no JSON answer to '\(verb)' (exit \(status)): \(SSHTransport.firstLine(stderr)).")
        }
        if object["ok"]?.boolValue == true { return object }
        let message = String((object["message"]?.stringValue ?? "The node helper failed without a message.").prefix(500))
        let code: PluginError.Code = switch object["code"]?.stringValue {
        case "not_found": .notFound
        case "invalid_request": .invalidRequest
        case "quota": .quota
        case "unavailable": .unavailable
        default: .internal
        }
        throw PluginError(code, "byok host \(host.name): \(message)")
    }

    /// Pushes a local file as a blob unless the host has it.
    func pushBlob(_ host: BYOKHost, path: String, sha256: String, call: PluginCall) throws(PluginError) {
        let blob = ShellQuote.word("\(host.nodeDir)/blobs/\(sha256)")
        let (_, have) = try transport.capture(host, "if [ -f \(blob) ]; then echo present; fi", call: call)
        if String(decoding: have, as: UTF8.self).hasPrefix("present") { return }
        guard let size = LocalFiles.size(path), size <= Self.maxBlobBytes, let bytes = FileManager.default.contents(atPath: path) else {
            throw PluginError(.invalidRequest, "The byok plugin cannot push \(path): it is missing or larger than \(Self.maxBlobBytes >> 20) MiB.")
        }
        _ = try verb(host, ["put-blob", "--sha256", sha256], input: bytes, timeout: 600, call: call)
    }

    /// Largest image or snapshot pushed in one piece.
    static let maxBlobBytes: Int64 = 4 << 30
}
