import Foundation
import HTTPClient
import PluginKit

/// E2B's control-plane REST API: authenticated requests, retries for idempotent ones, errors mapped.
struct E2BAPI: Sendable {
    let config: E2BConfig
    let client: HTTPClient
    let host: PluginHost
    var retry = RetryPolicy()
    /// Seconds for connecting, and for a whole request (create waits for the sandbox to boot).
    var connectTimeout = 10.0
    var requestTimeout = 30.0
    var createTimeout = 120.0
    /// The longest answer the API may send (a page of 100 listed sandboxes is far below it).
    var maxResponseBytes = 4 << 20

    /// One API request.
    struct Request {
        var method: String
        var path: String
        /// Already encoded `name=value` pairs.
        var query: [String] = []
        var body: Data? = nil
        var headers: [(name: String, value: String)] = []
        /// Safe to send again: GET, DELETE, overwriting POSTs, and create with its Idempotency-Key.
        var idempotent: Bool
        var timeout: Double? = nil
    }

    /// The API key from the host's secret store; never logged and never in an error.
    func apiKey(_ context: E2BContext) throws(PluginError) -> String {
        guard let key = host.secret(config.apiKeySecret), !key.isEmpty else {
            throw context.fail(.invalidRequest, "the host has no secret named '\(config.apiKeySecret)' holding the E2B API key (the backend's api_key_secret)")
        }
        guard !key.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }) else {
            throw context.fail(.invalidRequest, "the secret '\(config.apiKeySecret)' holds control characters, so it cannot be an E2B API key")
        }
        return key
    }

    /// Sends `request`; returns a 2xx answer or throws the mapped error. Idempotent requests are
    /// retried on 429/502/503/504 and on connection failures, waiting as `retry` says.
    func send(_ request: Request, context: E2BContext, call: PluginCall) throws(PluginError) -> HTTPClientResponse {
        let key = try apiKey(context)
        var headers: [(name: String, value: String)] = [("X-API-Key", key), ("Accept", "application/json")]
        if request.body != nil { headers.append(("Content-Type", "application/json")) }
        headers += request.headers
        let url = config.apiURL + request.path + (request.query.isEmpty ? "" : "?" + request.query.joined(separator: "&"))
        let http = HTTPClientRequest(method: request.method, url: url, headers: headers, body: request.body.map { [UInt8]($0) } ?? [],
                                     connectTimeout: connectTimeout, timeout: request.timeout ?? requestTimeout,
                                     maxResponseBytes: maxResponseBytes)
        var attempt = 0
        while true {
            attempt += 1
            if call.isCancelled { throw context.fail(.unavailable, "the host cancelled the call") }
            let canRetry = request.idempotent && attempt < retry.attempts
            let response: HTTPClientResponse
            do {
                response = try client.send(http, shouldAbort: { call.isCancelled })
            } catch {
                guard canRetry, RetryPolicy.isRetryable(error) else { throw E2BFailure.transport(error, context: context) }
                try pause(retry.delay(afterAttempt: attempt, retryAfter: nil), attempt: attempt, why: "it got no answer",
                          context: context, call: call)
                continue
            }
            if response.isSuccess { return response }
            if canRetry, RetryPolicy.retryableStatuses.contains(response.status) {
                let after = RetryPolicy.retryAfter(response.header("Retry-After"), now: host.now())
                try pause(retry.delay(afterAttempt: attempt, retryAfter: after), attempt: attempt,
                          why: "the API answered HTTP \(response.status)", context: context, call: call)
                continue
            }
            throw E2BFailure.status(response.status, body: response.body, context: context, secretName: config.apiKeySecret)
        }
    }

    private func pause(_ seconds: Double, attempt: Int, why: String, context: E2BContext, call: PluginCall) throws(PluginError) {
        host.log(.info, "E2B \(context.operation) of \(context.subject): \(why); trying again in \(String(format: "%.2f", seconds)) s (attempt \(attempt + 1) of \(retry.attempts)).")
        guard RetryPolicy.wait(seconds, call: call) else { throw context.fail(.unavailable, "the host cancelled the call") }
    }

    /// Decodes a JSON answer, or throws the "malformed answer" error.
    func decode<T: Decodable>(_ type: T.Type, _ response: HTTPClientResponse, what: String, context: E2BContext) throws(PluginError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body))
        } catch {
            throw E2BFailure.malformed(what, context: context)
        }
    }

    /// JSON bytes of `value` with sorted keys (a repeated create must send the very same body).
    static func encode<T: Encodable>(_ value: T) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)) ?? Data("{}".utf8)
    }

    /// One path segment, percent-encoded (ids are opaque to us).
    static func segment(_ text: String) -> String { QueryEncoding.strict(text) }
}
