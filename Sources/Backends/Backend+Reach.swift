import FoundationEssentials
import Glibc
import Core
import Config
import PluginProtocol
import Basics

// Capability `sandboxer.reach/1`. The host checks the capability before calling (an undeclared
// capability is a clear error and no call), and checks every endpoint against the contract's
// bounds before anything downstream sees it: a plugin's answer is input like any other.
extension Backend {
    /// `endpoints`: how to reach `r.ports` of a sandbox (all the plugin knows when empty).
    /// Throws `.notImplemented` without calling when the plugin did not declare `sandboxer.reach/1`.
    public func endpoints(_ r: EndpointsRequest, timeout: Double?) throws(BackendError) -> EndpointsResponse {
        guard has(Capability.reach) else {
            throw BackendError(.notImplemented, EndpointRules.undeclared(name), backend: name, operation: Operation.endpoints)
        }
        let body = try Backend.encode(r, backend: name, operation: Operation.endpoints)
        let bytes = try invoke(Operation.endpoints, body, timeout: timeout)
        guard bytes.count <= EndpointRules.maxResponseBytes else {
            throw BackendError(.garbage, "The plugin's 'endpoints' response is \(bytes.count) bytes, more than the \(EndpointRules.maxResponseBytes) allowed.",
                               backend: name, operation: Operation.endpoints)
        }
        let response = try Backend.decode(EndpointsResponse.self, bytes, backend: name, operation: Operation.endpoints)
        if let problem = EndpointRules.problem(in: response) {
            throw BackendError(.garbage, "The plugin's 'endpoints' response breaks the contract: \(problem)",
                               backend: name, operation: Operation.endpoints)
        }
        return response
    }
}

/// The bounds an `endpoints` answer must keep (docs/plugins.md, "Reachability: the host's side").
package enum EndpointRules {
    package static let maxResponseBytes = 1 << 20
    package static let maxEndpoints = 256
    package static let maxPortsPerRequest = 256
    static let maxNameLength = 64
    static let maxHostLength = 253
    static let maxURLLength = 2048
    static let maxTextLength = 4096
    static let maxArguments = 64

    /// The message for a backend that did not declare the capability.
    package static func undeclared(_ backend: String) -> String {
        "Backend \(backend) does not declare \(Capability.reach), so it cannot tell how to reach a sandbox's ports."
    }

    /// The first way `response` breaks the contract, as a sentence; nil when it keeps it.
    package static func problem(in response: EndpointsResponse) -> String? {
        guard response.endpoints.count <= maxEndpoints else {
            return "\(response.endpoints.count) endpoints, more than the \(maxEndpoints) allowed."
        }
        var names = Set<String>()
        for e in response.endpoints {
            let which = "endpoint \(String(e.name.prefix(maxNameLength)).quotedForMessage)"
            guard !e.name.isEmpty, e.name.count <= maxNameLength,
                  e.name.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 32 && $0.value < 127 }) else {
                return "an endpoint name must be 1 to \(maxNameLength) printable ASCII characters without spaces."
            }
            guard names.insert(e.name).inserted else { return "the name \(e.name.quotedForMessage) is used twice." }
            guard (1...65535).contains(e.targetPort), (1...65535).contains(e.port) else {
                return "\(which) has a port outside 1–65535."
            }
            guard !e.host.isEmpty, e.host.count <= maxHostLength, !e.host.contains(where: { $0.isWhitespace || $0 == "/" }) else {
                return "\(which) has an empty or malformed host."
            }
            if let url = e.url {
                guard url.count <= maxURLLength, let parsed = URLComponents(string: url),
                      let scheme = parsed.scheme?.lowercased(), ["http", "https", "ws", "wss"].contains(scheme) else {
                    return "\(which) has a url that is not an absolute http(s) URL of at most \(maxURLLength) characters."
                }
            }
            if let at = e.expiresAt, RFC3339.parse(at) == nil {
                return "\(which) has an expires_at that is not an RFC 3339 UTC time."
            }
            let texts = [e.auth.name, e.auth.secretRef, e.user, e.hostKey].compactMap { $0 }
            guard texts.allSatisfy({ $0.count <= maxTextLength && !$0.contains(where: \.isNewline) }) else {
                return "\(which) has an auth name, secret_ref, user or host_key longer than \(maxTextLength) characters or with a line break."
            }
            for argv in [e.via?.proxyCommand, e.via?.localForward].compactMap({ $0 }) {
                guard !argv.isEmpty, argv.count <= maxArguments, argv.allSatisfy({ $0.count <= maxTextLength }) else {
                    return "\(which) has a via command that is empty or longer than \(maxArguments) arguments."
                }
            }
        }
        return nil
    }
}
