import Foundation
import HTTPClient
import PluginKit

/// envd, the agent inside each E2B sandbox: its process service over Connect RPC (JSON codec, as
/// E2B's Python SDK speaks it).
struct EnvdClient: Sendable {
    /// envd's port inside the sandbox (its host name is `49983-<id>.<domain>`).
    static let port = 49983
    static let streamContentType = "application/connect+json"

    let client: HTTPClient
    let host: PluginHost
    var connectTimeout = 10.0
    var unaryTimeout = 30.0

    /// Where and how to reach one sandbox's envd.
    struct Target: Sendable {
        var baseURL: String
        var sandboxID: String
        var token: String?

        /// Headers every envd request carries: the proxy routes by the sandbox id and port.
        var headers: [(name: String, value: String)] {
            var list: [(name: String, value: String)] = [("E2b-Sandbox-Id", sandboxID), ("E2b-Sandbox-Port", String(EnvdClient.port)),
                                                         ("connect-protocol-version", "1")]
            if let token { list.append(("X-Access-Token", token)) }
            return list
        }
    }

    /// A unary Connect call (`application/json` both ways); an error is a non-200 status whose body
    /// carries a string `code`.
    func unary(_ method: String, body: [String: Any], target: Target, context: E2BContext) throws(PluginError) {
        let bytes: Data
        do { bytes = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]) } catch {
            throw context.fail(.internal, "the \(method) request could not be encoded")
        }
        let request = HTTPClientRequest(method: "POST", url: target.baseURL + "/process.Process/" + method,
                                        headers: target.headers + [("Content-Type", "application/json")], body: [UInt8](bytes),
                                        connectTimeout: connectTimeout, timeout: unaryTimeout, maxResponseBytes: 64 * 1024)
        let response: HTTPClientResponse
        do { response = try client.send(request) } catch { throw E2BFailure.transport(error, context: context) }
        guard response.status == 200 else { throw Self.failure(status: response.status, body: response.body, what: method, context: context) }
    }

    /// SIGKILL to a started process's group (exec timeouts and cancellations).
    func kill(pid: UInt32, target: Target, context: E2BContext) {
        do {
            try unary("SendSignal", body: ["process": ["pid": pid], "signal": "SIGNAL_SIGKILL"], target: target, context: context)
        } catch {
            host.log(.warning, "E2B \(context.operation) of \(context.subject): the command (pid \(pid)) could not be killed: \(error.message)")
        }
    }

    /// Writes `data` to a started process's stdin (SendInput, in pieces), then closes it
    /// (CloseStdin): how the official SDK feeds stdin.
    func feedStdin(_ data: Data, pid: UInt32, target: Target, context: E2BContext) throws(PluginError) {
        let piece = 256 * 1024
        var start = data.startIndex
        while start < data.endIndex {
            let end = data.index(start, offsetBy: piece, limitedBy: data.endIndex) ?? data.endIndex
            try unary("SendInput", body: ["process": ["pid": pid], "input": ["stdin": data[start..<end].base64EncodedString()]],
                      target: target, context: context)
            start = end
        }
        try unary("CloseStdin", body: ["process": ["pid": pid]], target: target, context: context)
    }

    /// An error answer of envd or of E2B's proxy in front of it.
    static func failure(status: Int, body: [UInt8], what: String, context: E2BContext) -> PluginError {
        let object = (body.count <= 64 * 1024 ? try? JSONSerialization.jsonObject(with: Data(body)) : nil) as? [String: Any]
        let message = (object?["message"] as? String).map { ": " + E2BFailure.clean($0) } ?? ""
        if status == 502, object?["sandboxId"] != nil || message.contains("not found") {
            // The proxy's answer for a sandbox that is not running (any more).
            return context.fail(.notFound, "the sandbox is not running (envd's proxy answered 502)")
        }
        if let code = object?["code"] as? String { return connectError(code: code, message: message, what: what, context: context) }
        switch status {
        case 401, 403: return context.fail(.internal, "envd refused the sandbox's access token on \(what) (HTTP \(status))")
        case 404: return context.fail(.notFound, "envd answered 404 on \(what)\(message)")
        case 429: return context.fail(.quota, "envd is rate limiting (HTTP 429)\(message)")
        case 500...599: return context.fail(.unavailable, "envd is failing on \(what) (HTTP \(status))\(message)")
        default: return context.fail(.internal, "envd answered an unexpected HTTP \(status) on \(what)\(message)")
        }
    }

    /// A Connect error code (from a unary answer or a stream's end envelope) as an ABI error.
    static func connectError(code: String, message: String, what: String, context: E2BContext) -> PluginError {
        let reason = "envd's \(what) failed with \(E2BFailure.clean(code))\(message)"
        switch code {
        case "invalid_argument", "failed_precondition", "out_of_range", "not_found", "unimplemented":
            return context.fail(.invalidRequest, reason)
        case "unauthenticated", "permission_denied": return context.fail(.internal, reason)
        case "resource_exhausted": return context.fail(.quota, reason)
        case "already_exists", "aborted": return context.fail(.conflict, reason)
        case "unavailable", "deadline_exceeded", "canceled": return context.fail(.unavailable, reason)
        default: return context.fail(.internal, reason)
        }
    }
}
