import CBYOK
import Foundation
import Glibc
import PluginKit
import Synchronization

/// The BYOK backend: sandboxes on the operator's own Linux hosts, reached over SSH (the system
/// OpenSSH client, one supervised ControlMaster per host, pinned host keys), each run by the node
/// helper `sandboxer-node` with LocalVM's isolation (see docs/backends/byok.md).
public final class BYOKPlugin: SandboxerPlugin {
    public static let name = "byok"
    public static let version = "0.1.0"
    public static let capabilities = [Capability.lifecycle, Capability.exec, Capability.inventory, Capability.timeout,
                                      Capability.snapshot]
    public static let bootArtifactKinds = ["rootfs-tar"]

    let config: BYOKConfig
    let host: PluginHost
    let files: SSHFiles
    let transport: SSHTransport
    /// Made on first use: describe needs no helper binary.
    private let nodeState = Mutex<NodeClient?>(nil)

    /// Builds an instance from the backend config (see `BYOKConfig`); writes the ssh config and
    /// known_hosts. Connections are made when a call needs them.
    public init(config: JSONValue, host: PluginHost) throws(PluginError) {
        self.config = try BYOKConfig(json: config)
        self.host = host
        files = SSHFiles(config: self.config)
        if case .file(let path) = self.config.key { try SSHFiles.checkIdentityFile(path) }
        try files.write(self.config)
        transport = SSHTransport(config: self.config, files: files, host: host)
    }

    /// The node helper client, hashing the local helper binary the first time.
    func node() throws(PluginError) -> NodeClient {
        if let ready = nodeState.withLock({ $0 }) { return ready }
        let made = try NodeClient(transport: transport, helperPath: try helperPath())
        return nodeState.withLock { state in
            if let ready = state { return ready }
            state = made
            return made
        }
    }

    /// The configured helper, or `sandboxer-node` next to this library.
    func helperPath() throws(PluginError) -> String {
        if let configured = config.nodeHelper { return configured }
        guard let own = Self.ownImagePath() else {
            throw PluginError(.unavailable, "The byok plugin cannot tell where its library is, so it cannot find sandboxer-node next to it: set 'node_helper'.")
        }
        return (own as NSString).deletingLastPathComponent + "/sandboxer-node"
    }

    /// This library's path, from the dynamic loader.
    static func ownImagePath() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard cbyok_own_image_path(&buffer, buffer.count) == 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The host a backend ref names (`<host>/<sandbox id>`), and the id on it.
    func locate(_ ref: String, sandboxId: String) throws(PluginError) -> (BYOKHost, String) {
        guard let slash = ref.firstIndex(of: "/"), let h = config.host(String(ref[..<slash])) else {
            throw PluginError(.notFound, "'\(String(ref.prefix(80)))' is not a byok sandbox reference of this config (host/sandbox-id).")
        }
        let id = String(ref[ref.index(after: slash)...])
        try Self.checkId(id)
        return (h, id)
    }

    /// A sandbox id as the helper takes it (it names a directory on the host).
    static func checkId(_ id: String) throws(PluginError) {
        guard BYOKHost.isSafeName(id, max: 128), !id.hasPrefix("-") else {
            throw PluginError(.invalidRequest, "'\(String(id.prefix(80)))' is not a usable sandbox id (letters, digits, '.', '_', '-').")
        }
    }

    /// Runs `body` for every host at once (a down host costs a connect timeout; not one per host).
    func eachHost<T: Sendable>(_ hosts: [BYOKHost], _ body: @Sendable (BYOKHost) -> T) -> [T] {
        let results = Mutex<[Int: T]>([:])
        DispatchQueue.concurrentPerform(iterations: hosts.count) { i in
            let value = body(hosts[i])
            results.withLock { $0[i] = value }
        }
        return results.withLock { r in hosts.indices.map { r[$0]! } }
    }
}
