import Foundation
import HTTPClient
import PluginKit

extension E2BPlugin {
    /// Runs argv through envd's `process.Process/Start` stream: stdin through SendInput/CloseStdin
    /// once the process started, stdout/stderr from data events, the exit code from the `end`
    /// event. A timeout or the host's cancellation sends SIGKILL and stops reading.
    public func exec(_ request: ExecRequest, call: PluginCall) throws(PluginError) -> ExecResponse {
        let context = E2BContext.sandbox(Operation.exec, request.sandboxId)
        guard let command = request.argv.first, !command.isEmpty else { throw context.fail(.invalidRequest, "argv is empty") }
        if let t = request.timeoutSeconds, t <= 0 { throw context.fail(.invalidRequest, "timeout_seconds must be positive") }
        var stdin: Data? = nil
        if let b64 = request.stdinB64 {
            guard let data = Data(base64Encoded: b64) else { throw context.fail(.invalidRequest, "stdin_b64 is not valid base64") }
            stdin = data
        }
        let target = try envdTarget(request.backendRef, context: context, call: call)

        var process: [String: Any] = ["cmd": command, "args": Array(request.argv.dropFirst())]
        if !request.env.isEmpty { process["envs"] = request.env }
        let payload: Data
        do { payload = try JSONSerialization.data(withJSONObject: ["process": process, "stdin": stdin != nil], options: [.sortedKeys]) } catch {
            throw context.fail(.invalidRequest, "the command cannot be encoded as JSON")
        }
        var headers = target.headers + [("Content-Type", EnvdClient.streamContentType),
                                        // envd runs commands as this user; the SDK's default.
                                        ("Authorization", "Basic " + Data("user:".utf8).base64EncodedString())]
        if let t = request.timeoutSeconds { headers.append(("connect-timeout-ms", String(t * 1000))) }
        let http = HTTPClientRequest(method: "POST", url: target.baseURL + "/process.Process/Start", headers: headers,
                                     body: ConnectFrameDecoder.envelope([UInt8](payload)), connectTimeout: envd.connectTimeout,
                                     // curl's limit only guards a stuck server; the command's own timeout is checked below.
                                     timeout: Double(request.timeoutSeconds ?? 86_400) + 30)

        let envd = self.envd
        let stream = ExecStream(context: context) { (pid: UInt32) throws(PluginError) in
            if let stdin { try envd.feedStdin(stdin, pid: pid, target: target, context: context) }
        }
        let started = DispatchTime.now().uptimeNanoseconds
        let limit = request.timeoutSeconds.map { UInt64($0) * 1_000_000_000 }
        var timedOut = false
        let outcome: Result<HTTPClientResponse, HTTPClientError>
        do {
            outcome = .success(try envd.client.stream(http, shouldAbort: {
                if let limit, DispatchTime.now().uptimeNanoseconds - started >= limit { timedOut = true; return true }
                return call.isCancelled
            }, onBody: { status, chunk in stream.feed(status: status, chunk: chunk) }))
        } catch {
            outcome = .failure(error)
        }
        if let failure = stream.failure {
            if let pid = stream.pid { envd.kill(pid: pid, target: target, context: context) }
            throw failure
        }
        if case .failure(let error) = outcome {
            if let pid = stream.pid, stream.exit == nil { envd.kill(pid: pid, target: target, context: context) }
            if timedOut {
                return ExecResponse(exitCode: 137, stdout: stream.stdout, stderr: stream.stderr, timedOut: true)
            }
            if error.code == .aborted { throw context.fail(.unavailable, "the host cancelled the call; the command was killed") }
            if stream.exit == nil {
                try checkStillThere(request.backendRef, context: context, call: call)
                throw context.fail(.unavailable, "the process stream broke before the command ended (\(error.message))")
            }
        }
        guard stream.status == 200 else {
            if stream.status == 401 { _ = envdTokens.withLock { $0.removeValue(forKey: request.backendRef) } }
            throw EnvdClient.failure(status: stream.status, body: stream.errorBody, what: "Start", context: context)
        }
        guard let exit = stream.exit else {
            if let error = stream.streamError {
                throw EnvdClient.connectError(code: error.code, message: error.message.isEmpty ? "" : ": " + E2BFailure.clean(error.message),
                                              what: "Start", context: context)
            }
            try checkStillThere(request.backendRef, context: context, call: call)
            throw context.fail(.unavailable, "the process stream ended without an end event, so the command's outcome is unknown")
        }
        guard stream.sawEndOfStream else {
            // Connect ends every stream with an end-of-stream envelope; without it the answer is
            // cut short (the SDK raises too), whatever events came before.
            throw context.fail(.unavailable, "the process stream ended without its end-of-stream message, so the command's outcome is not certain")
        }
        if stream.droppedBytes > 0 {
            host.log(.warning, "E2B exec of sandbox \(request.sandboxId): \(stream.droppedBytes) bytes of output beyond \(stream.maxOutput) bytes per stream were dropped.")
        }
        return ExecResponse(exitCode: exit.code, stdout: stream.stdout, stderr: stream.stderr, timedOut: false)
    }

    /// The envd address and token of a sandbox: the token from create, or from its details.
    func envdTarget(_ backendRef: String, context: E2BContext, call: PluginCall) throws(PluginError) -> EnvdClient.Target {
        guard Self.isUsableId(backendRef) else { throw context.fail(.notFound, "it has no E2B sandbox id") }
        var access = envdTokens.withLock { $0[backendRef] }
        if access == nil {
            let detail = try fetchDetail(backendRef, context: context, call: call)
            guard detail.state == "running" else { throw context.fail(.conflict, "E2B reports it \(E2BFailure.clean(detail.state)), not running") }
            access = EnvdAccess(token: detail.envdAccessToken, domain: detail.domain)
        }
        return EnvdClient.Target(baseURL: config.envdURL(sandboxID: backendRef, domain: access?.domain), sandboxID: backendRef,
                                 token: access?.token)
    }

    /// After a broken stream: `not_found` when the sandbox itself is gone (say, its timeout fired).
    func checkStillThere(_ backendRef: String, context: E2BContext, call: PluginCall) throws(PluginError) {
        do {
            _ = try fetchDetail(backendRef, context: context, call: call)
        } catch where error.code == .notFound {
            throw context.fail(.notFound, "the sandbox stopped while the command ran")
        } catch {
            // The stream's own error says more than this one.
        }
    }
}
