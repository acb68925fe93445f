import Foundation
import HTTPClient
import PluginKit

/// Names what a failing call was doing, so every error is one sentence naming the operation and
/// the sandbox (or snapshot, or host) it was about.
struct E2BContext: Sendable {
    /// The operation as the host names it (`create`, `exec`, `set_timeout`…).
    var operation: String
    /// "sandbox sbx-…", "snapshot …", "host …".
    var subject: String

    static func sandbox(_ operation: String, _ id: String) -> E2BContext { E2BContext(operation: operation, subject: "sandbox \(id)") }

    /// "E2B create of sandbox sbx-1 failed: <reason>." as the error with `code`.
    func fail(_ code: PluginError.Code, _ reason: String) -> PluginError {
        PluginError(code, "E2B \(operation) of \(subject) failed: \(E2BFailure.clean(reason)).")
    }
}

/// Maps E2B's answers and transport failures onto the ABI's error codes.
enum E2BFailure {
    /// An E2B error answer: any non-2xx status with `{"code", "message"}`.
    static func status(_ status: Int, body: [UInt8], context: E2BContext, secretName: String) -> PluginError {
        let detail = serverMessage(body).map { ": \($0)" } ?? ""
        switch status {
        case 401, 403:
            // A configuration problem: the operator's key. Never quote it.
            return context.fail(.invalidRequest, "the API refused the key from secret '\(secretName)' (HTTP \(status)); check that it is a valid E2B API key")
        case 404: return context.fail(.notFound, "it does not exist (HTTP 404)\(detail)")
        case 409: return context.fail(.conflict, "the API reported a conflict (HTTP 409)\(detail)")
        case 422: return context.fail(.conflict, "the API refused a repeated request that differs from the first (HTTP 422)\(detail)")
        case 429: return context.fail(.quota, "the API is rate limiting or the account is at its limit (HTTP 429)\(detail)")
        case 400...499: return context.fail(.invalidRequest, "the API refused the request (HTTP \(status))\(detail)")
        case 500...599: return context.fail(.unavailable, "the API is failing (HTTP \(status))\(detail)")
        default: return context.fail(.internal, "the API answered an unexpected HTTP \(status)\(detail)")
        }
    }

    /// A request that got no answer.
    static func transport(_ error: HTTPClientError, context: E2BContext) -> PluginError {
        switch error.code {
        case .timeout: return context.fail(.unavailable, "the request timed out (\(error.message))")
        case .invalidRequest: return context.fail(.internal, error.message)
        case .responseTooLarge: return context.fail(.internal, "the answer was too large (\(error.message))")
        case .aborted, .cancelled: return context.fail(.unavailable, "the host cancelled the call")
        default: return context.fail(.unavailable, "the API could not be reached (\(error.message))")
        }
    }

    /// An answer that is not what the contract promises (cut-off or malformed JSON, missing fields).
    static func malformed(_ what: String, context: E2BContext) -> PluginError {
        context.fail(.internal, "the API answered \(what) that is not valid JSON of the expected shape")
    }

    /// The `message` of an error body, cleaned for a one-line log; nil when there is none.
    static func serverMessage(_ body: [UInt8]) -> String? {
        guard !body.isEmpty, body.count <= 64 * 1024,
              let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let message = object["message"] as? String else { return nil }
        let text = clean(message)
        return text.isEmpty ? nil : text
    }

    /// One line: control characters become spaces, at most 300 characters, no trailing period
    /// (the sentence adds its own).
    static func clean(_ text: String) -> String {
        var out = String(text.unicodeScalars.map { CharacterSet.controlCharacters.contains($0) ? " " : Character($0) })
        out = out.trimmingCharacters(in: .whitespaces)
        if out.count > 300 { out = String(out.prefix(300)) + "…" }
        while out.hasSuffix(".") { out.removeLast() }
        return out
    }
}
