import FoundationEssentials
import Glibc
import HTTPServer
import YAMLSubset
import Lifecycle
import Webhooks
import Store
import Config
import Core
import Backends
import Basics
import PluginProtocol

/// An HTTP error answer: a status and `{"error": {"code", "message"}}`.
struct APIError: Error, Sendable {
    var status: Int
    var code: String
    var message: String
    var headers: [(String, String)] = []

    init(_ status: Int, _ code: String, _ message: String) {
        self.status = status; self.code = code; self.message = message
    }

    /// The status a host error maps to. Bad input is never a 500.
    init(_ error: SandboxerError) {
        let status: Int
        switch error.code {
        case .usage: status = 400
        case .invalidArgument: status = 422
        case .notFound: status = 404
        case .conflict, .imageInUse: status = 409
        case .unavailable, .plugin: status = 503
        case .backend: status = 502
        case .config, .store, .internal: status = 500
        }
        self.init(status, error.code.rawValue, error.message)
    }

    var response: HTTPResponse {
        var r = HTTPResponse.json(status, Data(JSONValue.object(["error": .object([
            "code": .string(code), "message": .string(message)])]).rendered(pretty: false).utf8))
        for (name, value) in headers { r.headers.set(name, value) }
        return r
    }

    static func badRequest(_ message: String) -> APIError { APIError(400, "bad_request", message) }
    static func unprocessable(_ message: String) -> APIError { APIError(422, "invalid_argument", message) }
    static func notFound(_ message: String) -> APIError { APIError(404, "not_found", message) }
}
