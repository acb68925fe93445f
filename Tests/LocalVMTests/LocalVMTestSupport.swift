import CLocalVM
import Foundation
import Glibc
import PluginKit
import Testing
@testable import LocalVM

/// Why the LocalVM tests cannot run here, or nil when they can.
let localVMSkipReason: String? = {
    if getuid() != 0 { return "LocalVM tests need root (user namespaces with a host id range, cgroups)." }
    if !FileManager.default.fileExists(atPath: "/bin/busybox") { return "LocalVM tests need /bin/busybox (Debian package busybox-static)." }
    for h in CgroupLayout(parent: "x").hierarchies where !FileManager.default.fileExists(atPath: h) {
        return "LocalVM tests need the cgroup hierarchy \(h)."
    }
    return nil
}()

/// Enables a LocalVM test only where sandboxes can really be built.
let localVMAvailable = Testing.ConditionTrait.enabled(if: localVMSkipReason == nil, Comment(rawValue: localVMSkipReason ?? "ok"))

/// One test's private LocalVM world: its own data dir and cgroup parent, cleaned up by `finish()`.
final class LocalVMWorld: Sendable {
    let dataDir: String
    let cgroupParent: String
    let plugin: LocalVMPlugin

    init(uidBase: UInt32? = nil, dataDirMode: mode_t = 0o700, networkPool: String? = nil) throws {
        let tag = "\(getpid())-\(UInt32.random(in: 0 ... .max))"
        dataDir = NSTemporaryDirectory() + "localvm-test-" + tag
        cgroupParent = "sbxtest-" + tag
        #expect(mkdir(dataDir, dataDirMode) == 0)
        plugin = try Self.instance(dataDir: dataDir, cgroupParent: cgroupParent, uidBase: uidBase, networkPool: networkPool)
    }

    /// Another plugin instance over the same data dir and cgroup parent.
    static func instance(dataDir: String, cgroupParent: String, uidBase: UInt32? = nil,
                         networkPool: String? = nil) throws -> LocalVMPlugin {
        var config: [String: JSONValue] = ["data_dir": .string(dataDir), "cgroup_parent": .string(cgroupParent)]
        if let uidBase { config["uid_base"] = .number(Double(uidBase)) }
        if let networkPool { config["network_pool"] = .string(networkPool) }
        return try LocalVMPlugin(config: .object(config), host: .standalone())
    }

    func request(_ id: String, resources: ResourceLimits = ResourceLimits(), timeout: Int64? = nil,
                 image: String? = nil, network: String = "none", env: [String: String] = [:]) -> CreateRequest {
        CreateRequest(sandboxId: id, hostId: "test-host", profile: "default", image: image, resources: resources,
                      network: network, env: env,
                      labels: [OwnershipLabel.host: "test-host", OwnershipLabel.sandbox: id, OwnershipLabel.profile: "default"],
                      timeoutSeconds: timeout)
    }

    @discardableResult
    func create(_ id: String, resources: ResourceLimits = ResourceLimits(), timeout: Int64? = nil,
                image: String? = nil, env: [String: String] = [:]) throws -> CreateResponse {
        try plugin.create(request(id, resources: resources, timeout: timeout, image: image, env: env), call: .detached)
    }

    func exec(_ id: String, _ argv: [String], stdin: String? = nil, timeout: Int64? = nil,
              env: [String: String] = [:]) throws -> ExecResponse {
        try plugin.exec(ExecRequest(sandboxId: id, backendRef: id, argv: argv, env: env,
                                    stdinB64: stdin.map { Data($0.utf8).base64EncodedString() },
                                    timeoutSeconds: timeout), call: .detached)
    }

    func sh(_ id: String, _ script: String) throws -> ExecResponse { try exec(id, ["sh", "-c", script]) }

    func destroy(_ id: String) throws { try plugin.destroy(SandboxRef(sandboxId: id, backendRef: id), call: .detached) }

    func status(_ id: String) throws -> StatusResponse {
        try plugin.status(SandboxRef(sandboxId: id, backendRef: id), call: .detached)
    }

    func meta(_ id: String) throws -> SandboxMeta {
        try #require(try SandboxMeta.load(dataDir + "/sandboxes/\(id)/meta.json"))
    }

    /// Destroys whatever is left, then checks that no trace of this world remains on the host.
    func finish() {
        let items = (try? plugin.inventory(InventoryRequest(hostId: "test-host"), call: .detached).resources) ?? []
        for item in items { try? destroy(item.backendRef) }
        for h in CgroupLayout(parent: cgroupParent).parentDirs {
            #expect(!FileManager.default.fileExists(atPath: h), "cgroup parent \(h) left behind")
            _ = rmdir(h)
        }
        // Destroyed sandboxes' directories (and mounts under them) are removed in the background:
        // wait for that, then prove it.
        #expect(throws: Never.self) { try plugin.trash.drain() }
        #expect(plugin.trash.entries.isEmpty, "destroyed sandboxes left in the trash")
        #expect(LocalVMPlugin.mountPoints(under: dataDir).isEmpty)
        #expect(plugin.leases.ids().isEmpty, "network leases left behind")
        _ = clvm_remove_tree(dataDir)
    }
}

extension ExecResponse {
    var out: String { String(decoding: stdout, as: UTF8.self) }
    var err: String { String(decoding: stderr, as: UTF8.self) }
}

/// Waits (without sleeping) until `pid` exits, at most `ms`: true when it did.
func waitForExit(pid: Int32, ms: Int32) -> Bool {
    let fd = clvm_pidfd_open(pid)
    if fd < 0 { return true } // already gone (and reaped)
    defer { close(fd) }
    return clvm_pidfd_wait_exit(fd, ms) == 1
}

/// Expects a PluginError with `code` from body.
func expectPluginError<T>(_ code: PluginError.Code, _ body: () throws -> T,
                          sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        _ = try body()
        Issue.record("expected \(code), got success", sourceLocation: sourceLocation)
    } catch let error as PluginError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected PluginError \(code), got \(error)", sourceLocation: sourceLocation)
    }
}
