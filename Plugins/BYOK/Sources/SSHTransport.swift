import Foundation
import Glibc
import PluginKit

/// Runs commands on the hosts through their ControlMasters with the system ssh client.
final class SSHTransport: Sendable {
    let config: BYOKConfig
    let files: SSHFiles
    let masters: [String: ControlMaster]

    /// What one remote command did. `status` is ssh's: 255 may be a transport failure or the command's.
    struct Result: Sendable {
        var status: Int32
        var outcome: IOPump.Outcome
        var stderr: Data
    }

    init(config: BYOKConfig, files: SSHFiles, host: PluginHost) {
        self.config = config
        self.files = files
        var masters: [String: ControlMaster] = [:]
        let keyName: String? = if case .secret(let name) = config.key { name } else { nil }
        for h in config.hosts {
            masters[h.name] = ControlMaster(host: h, files: files, secretKey: { () throws(PluginError) -> String? in
                guard let keyName else { return nil }
                guard let key = host.secret(keyName), !key.isEmpty else {
                    throw PluginError(.invalidRequest, "The host has no secret '\(keyName)' (the byok backend's key_secret); set it to the private key.")
                }
                return key
            }, log: { level, message in host.log(level, message) })
        }
        self.masters = masters
    }

    /// How long a call waits for a master to connect.
    var connectWait: TimeInterval { TimeInterval(config.connectTimeout) + 2 }

    /// Makes sure the host's master is up (`unavailable` when it is not).
    func connect(_ host: BYOKHost) throws(PluginError) {
        guard let master = masters[host.name] else {
            throw PluginError(.internal, "The byok plugin has no connection for host \(host.name).")
        }
        try master.ensure(timeout: connectWait)
    }

    /// Runs `command` (a shell line for the remote `/bin/sh`) through the host's master. The output
    /// goes to `onStdout` as it comes; stderr is kept (bounded) for messages.
    func run(_ host: BYOKHost, _ command: String, input: Data = Data(), keepStdinOpen: Bool = false,
             deadline: Date?, call: PluginCall, onStdout: (Data) -> Bool) throws(PluginError) -> Result {
        try connect(host)
        let args = ["-F", files.configPath, "-T", "-o", "ControlMaster=no", host.alias, "--", command]
        let child = try Subprocess.spawn(ControlMaster.ssh, args, pipeStdin: true, pipeStdout: true, pipeStderr: true)
        var stderr = Data()
        let outcome = IOPump.run(child, input: input, keepStdinOpen: keepStdinOpen, deadline: deadline,
                                 isCancelled: { call.isCancelled }, onStdout: onStdout,
                                 onStderr: { if stderr.count < 16384 { stderr.append($0.prefix(16384 - stderr.count)) }; return true })
        let status = child.wait()
        return Result(status: status, outcome: outcome, stderr: stderr)
    }

    /// Runs a command and collects its stdout (at most `limit` bytes).
    func capture(_ host: BYOKHost, _ command: String, input: Data = Data(), timeout: TimeInterval = 60,
                 limit: Int = 1 << 20, call: PluginCall) throws(PluginError) -> (Result, Data) {
        var out = Data()
        var over = false
        let result = try run(host, command, input: input, deadline: Date().addingTimeInterval(timeout), call: call) { data in
            out.append(data)
            over = out.count > limit
            return !over
        }
        if over {
            throw PluginError(.internal, "The byok host \(host.name) answered with more than \(limit) bytes.")
        }
        try Self.check(result, host: host)
        return (result, out)
    }

    /// Maps a cancelled, timed-out or transport-failed run to an error.
    static func check(_ result: Result, host: BYOKHost) throws(PluginError) {
        switch result.outcome {
        case .finished: break
        case .cancelled: throw PluginError(.unavailable, "The call to byok host \(host.name) was cancelled.")
        case .timedOut: throw PluginError(.unavailable, "The byok host \(host.name) did not answer in time.")
        case .stopped: throw PluginError(.internal, "The byok host \(host.name) answered with more than the plugin accepts.")
        }
    }

    /// A one-line form of ssh's stderr for a message.
    static func firstLine(_ data: Data) -> String {
        let text = String(decoding: data.prefix(2048), as: UTF8.self)
        return text.split(whereSeparator: \.isNewline).first.map { String($0.prefix(200)) } ?? "no message"
    }
}
