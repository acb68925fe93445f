import Foundation
import PluginKit

extension BYOKPlugin {
    /// Most bytes of stdout (and of stderr) one exec returns; the rest is dropped and said so.
    static let maxExecOutput = 16 << 20

    /// Runs a framed verb (exec, snapshot): sends `input`, keeps stdin open so the helper's watchdog
    /// sees EOF only when we are gone, and hands every data frame to `onData`. Returns the status
    /// frame's JSON; a run that ends without one is a transport failure (ssh's 255) or a helper fault.
    func framed(_ h: BYOKHost, _ args: [String], input: Data, deadline: Date?, call: PluginCall,
                onData: (Frame) -> Void) throws(PluginError) -> [String: JSONValue] {
        let node = try node()
        var decoder = FrameDecoder()
        var status: Data?
        var protocolError: PluginError?
        let result = try node.withHelper(h, call: call, { line throws(PluginError) in
            try transport.run(h, line, input: input, keepStdinOpen: true, deadline: deadline, call: call) { bytes in
                do throws(PluginError) {
                    for frame in try decoder.push(bytes) {
                        if frame.type == Frame.status { status = frame.payload } else { onData(frame) }
                    }
                    return true
                } catch {
                    protocolError = error
                    return false
                }
            }
        }, verb: args)
        if let protocolError { throw protocolError }
        guard let status else {
            try SSHTransport.check(result, host: h)
            if result.status == 255 {
                throw PluginError(.unavailable, "The ssh connection to byok host \(h.name) failed before the command's status arrived: \(SSHTransport.firstLine(result.stderr)).")
            }
            throw PluginError(.internal, "The node helper on byok host \(h.name) ended (exit \(result.status)) without a status: \(SSHTransport.firstLine(result.stderr)).")
        }
        guard let object = (try? JSONDecoder().decode(JSONValue.self, from: status))?.objectValue else {
            throw PluginError(.internal, "The node helper on byok host \(h.name) sent a status that is not a JSON object.")
        }
        if let error = object["error"]?.objectValue {
            _ = try NodeClient.parse(Data((try? JSONEncoder().encode(JSONValue.object(error.merging(["ok": .bool(false)]) { a, _ in a }))) ?? Data()),
                                     status: 0, stderr: Data(), host: h, verb: args.first ?? "")
        }
        return object
    }

    /// Runs one command in the sandbox through the helper's framed exec. The command's exit status
    /// comes in the helper's status frame, so a command's 255 is never taken for ssh's.
    public func exec(_ request: ExecRequest, call: PluginCall) throws(PluginError) -> ExecResponse {
        let (h, id) = try locate(request.backendRef, sandboxId: request.sandboxId)
        guard let first = request.argv.first, !first.isEmpty else {
            throw PluginError(.invalidRequest, "exec needs a non-empty argv.")
        }
        if request.argv.contains(where: { $0.contains("\0") }) {
            throw PluginError(.invalidRequest, "exec arguments must not contain NUL bytes.")
        }
        var stdin = Data()
        if let b64 = request.stdinB64 {
            guard let data = Data(base64Encoded: b64) else { throw PluginError(.invalidRequest, "stdin_b64 is not valid base64.") }
            stdin = data
        }
        var args = ["exec", "--id", id]
        var deadline: Date?
        if let t = request.timeoutSeconds {
            guard t > 0 else { throw PluginError(.invalidRequest, "timeout_seconds must be positive.") }
            args += ["--timeout-ms", String(t * 1000)]
            // The helper's own timer ends the command; ours only catches a helper that never answers.
            deadline = Date().addingTimeInterval(TimeInterval(t) + 30)
        }
        for (k, v) in request.env.sorted(by: { $0.key < $1.key }) {
            guard !k.isEmpty, !k.contains("="), !k.contains("\0"), !v.contains("\0") else {
                throw PluginError(.invalidRequest, "The environment variable '\(k)' has an invalid name or value.")
            }
            args += ["--env", "\(k)=\(v)"]
        }
        args += ["--"] + request.argv
        var out = Data(), err = Data()
        var truncated = false
        let status = try framed(h, args, input: Frame.stdinStream(stdin), deadline: deadline, call: call) { frame in
            if frame.type == Frame.stdout {
                if out.count + frame.payload.count <= Self.maxExecOutput { out.append(frame.payload) } else { truncated = true }
            } else if err.count + frame.payload.count <= Self.maxExecOutput {
                err.append(frame.payload)
            } else {
                truncated = true
            }
        }
        if truncated { err.append(Data("\nsandboxer: output beyond \(Self.maxExecOutput >> 20) MiB per stream was dropped\n".utf8)) }
        let signal = status["signal"]?.numberValue.map { Int32($0) }
        let code = status["exit_code"]?.numberValue.map { Int32($0) } ?? signal.map { 128 + $0 } ?? -1
        return ExecResponse(exitCode: code, stdout: out, stderr: err, timedOut: status["timed_out"]?.boolValue ?? false)
    }
}
