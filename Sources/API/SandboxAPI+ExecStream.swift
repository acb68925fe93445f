import FoundationEssentials
import Glibc
import HTTPServer
import Lifecycle
import Core
import Basics
import PluginProtocol

// `POST /v1/sandboxes/{id}/exec` streamed: with `Accept: application/x-ndjson` (or `?stream=1`) the
// answer is 200 with chunked JSON Lines written as the command runs:
//   {"stream":"stdout","data_b64":"…"}   output, base64 so binary bytes survive, in order per stream
//   {"heartbeat":true}                   after `heartbeatSeconds` of silence (keeps proxies and the
//                                        server's write timer from closing an idle stream)
//   {"exit_code":0,"signal":null,"timed_out":false}   the last line
//   {"error":{"code":"…","message":"…"}}              the last line instead, when the run failed
// A client that disconnects kills the command. Errors found before the command starts (unknown
// sandbox, a sandbox being destroyed, bad input) are ordinary HTTP errors.
extension SandboxAPI {
    /// Seconds of silence before a heartbeat line.
    static let execHeartbeatSeconds = 10.0

    /// Whether the client asked for a streamed exec.
    static func wantsStreamedExec(_ request: HTTPRequest) -> Bool {
        if let flag = request.query["stream"]?.last, ["1", "true"].contains(flag) { return true }
        return request.headers.values("Accept").contains { $0.lowercased().contains("application/x-ndjson") }
    }

    /// Answers a streamed exec: checks what can be checked now, then streams from a worker.
    func execStreamed(_ sandbox: Sandbox, argv: [String], stdin: Data?, env: [String: String],
                      timeout: Int64?) throws(APIError) -> HTTPResponse {
        let current = try call { () throws(SandboxerError) in try service.get(sandbox.id) }
        guard SandboxState.live.contains(current.state) else {
            throw APIError(SandboxerError(.conflict, "Sandbox \(sandbox.id) is \(current.state.rawValue); only ready or active sandboxes can run commands."))
        }
        let streams = try call { () throws(SandboxerError) in try service.supportsStreamedExec(sandbox.id) }
        let lifecycle = self.service
        let id = sandbox.id
        let body = HTTPBodyStream { body in
            // rendered(pretty: false) ends with the newline that ends a JSON Lines record.
            @Sendable func line(_ value: JSONValue) -> Bool { body.write(Data(value.rendered(pretty: false).utf8)) }
            // Output lines are assembled as bytes: base64 needs no escaping, and quoting a megabyte
            // of it character by character would cost more than the command's output itself.
            @Sendable func output(_ stream: ExecOutputStream, _ data: Data) -> Bool {
                var bytes = Data(#"{"data_b64":""#.utf8)
                bytes.append(data.base64EncodedData())
                bytes.append(Data(#"","stream":"\#(stream.rawValue)"}"#.utf8))
                bytes.append(10)
                return body.write(bytes)
            }
            do throws(SandboxerError) {
                if streams {
                    let sink = ExecStreamSink(
                        output: { stream, data in output(stream, data) },
                        heartbeat: { line(.object(["heartbeat": .bool(true)])) },
                        heartbeatSeconds: Self.execHeartbeatSeconds,
                        isCancelled: { body.isCancelled })
                    let outcome = try lifecycle.execStream(id, argv: argv, env: env, timeoutSeconds: timeout,
                                                         stdin: stdin.map { .bytes($0) } ?? .none, sink: sink)
                    _ = line(.object(["exit_code": .number(Double(outcome.exitCode)),
                                      "signal": outcome.signal.map { .number(Double($0)) } ?? .null,
                                      "timed_out": .bool(outcome.timedOut)]))
                } else {
                    // A backend without streaming: the whole-buffer result, framed the same way.
                    let result = try lifecycle.exec(id, argv: argv, stdin: stdin, env: env, timeoutSeconds: timeout)
                    for (stream, data) in [(ExecOutputStream.stdout, result.stdout), (.stderr, result.stderr)] where !data.isEmpty {
                        _ = output(stream, data)
                    }
                    var last: [String: JSONValue] = ["exit_code": .number(Double(result.exitCode)), "signal": .null,
                                                     "timed_out": .bool(result.timedOut)]
                    if result.stdoutTruncated == true { last["stdout_truncated"] = .bool(true) }
                    if result.stderrTruncated == true { last["stderr_truncated"] = .bool(true) }
                    _ = line(.object(last))
                }
            } catch {
                _ = line(.object(["error": .object(["code": .string(error.code.rawValue), "message": .string(error.message)])]))
            }
        }
        var response = HTTPResponse(status: 200, headers: ["Content-Type": "application/x-ndjson"])
        response.headers.set("Cache-Control", "no-store")
        response.stream = body
        return response
    }
}
