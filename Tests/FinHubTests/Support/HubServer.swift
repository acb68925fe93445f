import Foundation
import Glibc
import HTTPClient
import Testing

/// A real `sandboxer serve` playing the hub: its own data dir and config (the TestPlugin's fake
/// backend, an operator and a consumer token), on 127.0.0.1. Ready when it prints
/// `sandboxer: serving on ADDR` on stderr (a handshake, not a sleep).
final class HubServer: @unchecked Sendable {
    // @unchecked: `process`, `reader` and `address` change only in start/stop, which one test calls
    // from its own thread; `lines` is guarded by `lock`.
    static let operatorToken = "hub-operator-token-0123456789"
    static let consumerToken = "hub-consumer-token-0123456789"
    /// The port the fake hub backend's one endpoint names (nothing needs to listen on it).
    static let endpointPort = 41234

    let home: String
    private(set) var address: String?
    private var process: Process?
    private let lock = NSLock()
    private var lines: [String] = []

    /// The hub's backend: the TestPlugin's fake (default), or LocalVM (root and busybox) for what the
    /// fake cannot do (snapshots).
    enum Backend { case fake, localvm }

    /// `hang`: operations the fake backend blocks in until cancelled, after writing the sandbox id
    /// to the FIFO `home/ready` (the test's handshake that the hub is mid-operation).
    init(home: String, backend: Backend = .fake, hang: [String] = []) throws {
        self.home = home
        try FileManager.default.createDirectory(atPath: home + "/fake", withIntermediateDirectories: true)
        let op = try Self.hash(Self.operatorToken), consumer = try Self.hash(Self.consumerToken)
        // The fake answers `endpoints` for sandboxes with a network (hub profile `net`).
        let plugin = backend == .fake ? """
            plugin: \(Products.testPlugin)
                config:
                  state_dir: \(home)/fake
                  hang: [\(hang.joined(separator: ", "))]
                  ready_fifo: \(home)/ready
                  endpoints:
                    - name: web
                      kind: tcp
                      target_port: 8080
                      host: 127.0.0.1
                      port: \(Self.endpointPort)
                      tls: false
                      auth: {scheme: none}
            """ : "plugin: \(Products.directory)/libSandboxerLocalVM.so"
        let resources = backend == .localvm ? "\n    resources: {memory: 256M, pids: 256}" : ""
        let net = backend == .fake ? "\n  net:\n    backend: fake\n    network: bridge\n    consumer: \"*\"" : ""
        try """
        data_dir: \(home)/data
        backends:
          fake:
            \(plugin)
        profiles:
          default:
            backend: fake
            ttl: {default: 1h, max: 24h}
            consumer: "*"\(resources)
          short:
            backend: fake
            ttl: {default: 2s, max: 2s}
            consumer: "*"\(resources)\(net)
        server:
          sweep_interval: 1s
          tokens:
            - {name: ops, role: operator, sha256: \(op)}
            - {name: local, role: consumer, sha256: \(consumer)}
        """.write(toFile: home + "/hub.yaml", atomically: true, encoding: .utf8)
    }

    var url: String { "http://" + (address ?? "127.0.0.1:1") }
    var port: String { String(address?.split(separator: ":").last ?? "1") }

    /// Starts `serve` (on `listen`, default an ephemeral port) and waits for its ready line (at most 60 s).
    func start(listen: String = "127.0.0.1:0") throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Products.binary)
        p.arguments = ["serve", "--listen", listen]
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "SANDBOXER_CLOCK_OFFSET")
        env["SANDBOXER_CONFIG"] = home + "/hub.yaml"
        env["SANDBOXER_HOME"] = home + "/data"
        p.environment = env
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        let ready = DispatchSemaphore(value: 0)
        let handle = err.fileHandleForReading
        try p.run()
        process = p
        Thread.detachNewThread { [self] in
            var pending = Data()
            var signalled = false
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending += chunk
                while let newline = pending.firstIndex(of: 0x0a) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending = Data(pending[(newline + 1)...])
                    lock.withLock { lines.append(line) }
                    if !signalled, line.hasPrefix("sandboxer: serving on ") {
                        let addr = line.dropFirst("sandboxer: serving on ".count).prefix { $0 != " " }
                        lock.withLock { address = String(addr) }
                        signalled = true
                        ready.signal()
                    }
                }
            }
            if !signalled { ready.signal() }
        }
        guard ready.wait(timeout: .now() + 60) == .success, lock.withLock({ address }) != nil else {
            stop()
            throw HubFailure("the hub did not print its ready line:\n\(log)")
        }
    }

    /// SIGTERM and wait for the exit (serve finishes in-flight requests, then exits 0).
    @discardableResult
    func stop() -> Int32 {
        guard let p = process else { return 0 }
        process = nil
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// SIGKILL: the hub dies mid-request, as in a crash.
    func kill() {
        guard let p = process else { return }
        process = nil
        Glibc.kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    var log: String { lock.withLock { lines.joined(separator: "\n") } }

    /// One API call to the hub with `token` (the operator's by default); the status and parsed JSON.
    func call(_ method: String, _ path: String, body: String? = nil, token: String = HubServer.operatorToken,
              headers: [(name: String, value: String)] = [], timeout: Double = 40) throws -> (status: Int, json: [String: Any]) {
        var all: [(name: String, value: String)] = [("Authorization", "Bearer \(token)")] + headers
        if body != nil { all.append(("Content-Type", "application/json")) }
        let response = try HTTPClient().send(HTTPClientRequest(method: method, url: url + path, headers: all,
                                                               body: Array((body ?? "").utf8), timeout: timeout))
        let json = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
        return (response.status, json)
    }

    /// The hub's view of one sandbox.
    func sandbox(_ id: String) throws -> [String: Any] {
        let answer = try call("GET", "/v1/sandboxes/\(id)")
        guard answer.status == 200 else { throw HubFailure("GET sandbox \(id) answered \(answer.status): \(answer.json)") }
        return answer.json
    }

    static func hash(_ token: String) throws -> String {
        let result = try runSandboxer(["token-hash"], environment: ProcessInfo.processInfo.environment, stdin: Data(token.utf8))
        let hash = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard result.status == 0, hash.count == 64 else { throw HubFailure("token-hash failed: \(result.stderr)") }
        return hash
    }
}

struct HubFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
