import Foundation
import GRPCClient
import PluginKit
import ProtobufWire
import Synchronization

/// The plugin's gRPC calls to Modal: the control plane (`ModalClient`) and task command routers,
/// with pooled connections, deadlines, cancellation, bounded retries and error mapping.
///
/// A `GRPCClient` runs one call at a time, so concurrent operations take separate clients from a
/// small pool per address; an idle client keeps its HTTP/2 connection for the next call.
final class ModalRPC: Sendable {
    static let apiService = "/modal.client.ModalClient/"
    static let routerService = "/modal.task_command_router.TaskCommandRouter/"
    /// Attempts of an idempotent call that fails with UNAVAILABLE or DEADLINE_EXCEEDED.
    static let maxAttempts = 3
    /// Idle clients kept per address.
    static let poolLimit = 4
    /// `x-modal-client-type`: CLIENT_TYPE_CLIENT, and the client version the contract was verified with.
    static let clientType = "1"
    static let clientVersion = "1.6.4"

    let serverURL: String
    let tokenID: String
    let callTimeout: Double
    /// Token metadata for the control plane: the secret lives only here and in live clients.
    private let apiConfiguration: GRPCClientConfiguration
    private let routerConfiguration: GRPCClientConfiguration
    private let idle = Mutex<[String: [GRPCClient]]>([:])

    init(serverURL: String, tokenID: String, tokenSecret: String, callTimeout: Double) throws(PluginError) {
        self.serverURL = serverURL; self.tokenID = tokenID; self.callTimeout = callTimeout
        let common: [(name: String, value: String)] = [("x-modal-client-type", Self.clientType),
                                                       ("x-modal-client-version", Self.clientVersion)]
        apiConfiguration = GRPCClientConfiguration(
            metadata: [("x-modal-token-id", tokenID), ("x-modal-token-secret", tokenSecret)] + common,
            userAgent: "sandboxer-modal/\(ModalPlugin.version)")
        routerConfiguration = GRPCClientConfiguration(metadata: common, userAgent: "sandboxer-modal/\(ModalPlugin.version)")
        do {
            // Validates the address now (scheme, loopback-only h2c) and warms the pool.
            release(try GRPCClient(url: serverURL, configuration: apiConfiguration), url: serverURL)
        } catch {
            throw PluginError(.invalidRequest, "The modal 'server_url' is not usable: \(error.message)")
        }
    }

    // MARK: calls

    /// A unary control-plane call. `idempotent` calls are retried, bounded, with backoff.
    func api<R: ModalResponse>(_ method: String, _ request: some ModalRequest, idempotent: Bool,
                               timeout: Double? = nil, call: PluginCall) throws(PluginError) -> R {
        try unary(url: serverURL, path: Self.apiService + method, method: method, request: request.bytes,
                  metadata: [], idempotent: idempotent, timeout: timeout ?? callTimeout, call: call)
    }

    /// A unary call to a task's command router, with its bearer token.
    func router<R: ModalResponse>(_ method: String, _ request: some ModalRequest, access: CommandRouterAccess,
                                  idempotent: Bool, timeout: Double? = nil, call: PluginCall) throws(PluginError) -> R {
        try unary(url: access.url, path: Self.routerService + method, method: method, request: request.bytes,
                  metadata: [("authorization", "Bearer \(access.jwt)")], idempotent: idempotent,
                  timeout: timeout ?? callTimeout, call: call)
    }

    /// A server-streaming call to a command router: each message goes to `onMessage` (false stops).
    /// Not retried here: the caller resumes a stream from what it already has.
    func routerStream(_ method: String, _ request: some ModalRequest, access: CommandRouterAccess, timeout: Double,
                      call: PluginCall, onMessage: ([UInt8]) -> Bool) throws(GRPCStatus) {
        let options = GRPCCallOptions(metadata: [("authorization", "Bearer \(access.jwt)")], timeout: timeout,
                                      isCancelled: { call.isCancelled })
        let path = Self.routerService + method
        let bytes = request.bytes
        try withClient(url: access.url, configuration: routerConfiguration) { (client) throws(GRPCStatus) in
            _ = try client.serverStreaming(path, request: bytes, options: options, onMessage: onMessage)
        }
    }

    /// A server-streaming control-plane call (image builds).
    func apiStream(_ method: String, _ request: some ModalRequest, timeout: Double, call: PluginCall,
                   onMessage: ([UInt8]) -> Bool) throws(PluginError) {
        let options = GRPCCallOptions(timeout: timeout, isCancelled: { call.isCancelled })
        let path = Self.apiService + method
        let bytes = request.bytes
        do {
            try withClient(url: serverURL, configuration: apiConfiguration) { (client) throws(GRPCStatus) in
                _ = try client.serverStreaming(path, request: bytes, options: options, onMessage: onMessage)
            }
        } catch {
            throw map(error, method: method)
        }
    }

    /// The plugin error for a status of `method`.
    func map(_ status: GRPCStatus, method: String) -> PluginError {
        ModalError.map(status, method: method, tokenID: tokenID)
    }

    private func unary<R: ModalResponse>(url: String, path: String, method: String, request: [UInt8],
                                         metadata: [(name: String, value: String)], idempotent: Bool,
                                         timeout: Double, call: PluginCall) throws(PluginError) -> R {
        let configuration = url == serverURL ? apiConfiguration : routerConfiguration
        let options = GRPCCallOptions(metadata: metadata, timeout: timeout, isCancelled: { call.isCancelled })
        var attempt = 1
        while true {
            let answer: GRPCResponse
            do {
                answer = try withClient(url: url, configuration: configuration) { (client) throws(GRPCStatus) in
                    try client.unary(path, request: request, options: options)
                }
            } catch {
                guard idempotent, ModalError.isRetryable(error), attempt < Self.maxAttempts, !call.isCancelled else {
                    throw map(error, method: method)
                }
                // Backoff 0.2 s, then 0.4 s: a short outage passes, a long one fails fast.
                usleep(UInt32(200_000 << (attempt - 1)))
                attempt += 1
                continue
            }
            do {
                var reader = ProtoReader(answer.message)
                return try R(from: &reader)
            } catch {
                throw PluginError(.internal, "Modal's answer to \(method) could not be decoded: \(error.message)")
            }
        }
    }

    /// Runs `body` with a client for `url` from the pool (or a new one), then returns it to the pool.
    private func withClient<T>(url: String, configuration: GRPCClientConfiguration,
                               _ body: (GRPCClient) throws(GRPCStatus) -> T) throws(GRPCStatus) -> T {
        let pooled = idle.withLock { pool -> GRPCClient? in pool[url]?.popLast() }
        let client: GRPCClient
        if let pooled { client = pooled } else { client = try GRPCClient(url: url, configuration: configuration) }
        let result = try body(client)
        release(client, url: url)
        return result
    }

    /// Keeps a client whose last call went well; a failed one is dropped with its connection.
    private func release(_ client: GRPCClient, url: String) {
        idle.withLock { pool in
            // Router addresses come and go with tasks: bound how many distinct ones are kept.
            if pool[url] == nil, pool.count >= 64 { pool.removeAll() }
            if pool[url, default: []].count < Self.poolLimit { pool[url, default: []].append(client) }
        }
    }
}
