import CLocalVM
import Foundation
import Glibc
import PluginKit
import Testing
@testable import LocalVM

@Suite("LocalVM status, inventory and timeouts", localVMAvailable)
struct LocalVMStateTests {
    @Test("status: running, stopped once the init is gone, not_found after destroy")
    func status() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "st-\(UInt16.random(in: 0 ... .max))"
        expectPluginError(.notFound) { try world.status(id) }
        try world.create(id)
        let running = try world.status(id)
        #expect(running.state == "running")
        let meta = try world.meta(id)
        #expect(running.info["init_pid"] == .number(Double(meta.initPid)))
        // SIGTERM: the init exits cleanly, the sandbox is stopped but still on disk.
        #expect(kill(meta.initPid, SIGTERM) == 0)
        #expect(waitForExit(pid: meta.initPid, ms: 10_000))
        #expect(try world.status(id).state == "stopped")
        expectPluginError(.conflict) { try world.exec(id, ["true"]) }
        try world.destroy(id)
        expectPluginError(.notFound) { try world.status(id) }
    }

    @Test("a recorded init whose pid now names another process is not running")
    func pidReuse() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "reuse-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        var meta = try world.meta(id)
        meta.initStartTime += 1 // as if the pid had been reused by a newer process
        try meta.save(world.dataDir + "/sandboxes/\(id)/meta.json")
        #expect(try world.status(id).state == "stopped")
        expectPluginError(.conflict) { try world.exec(id, ["true"]) }
        try world.destroy(id) // the cgroup still ends the real init
    }

    @Test("inventory finds sandboxes of another instance and cgroup-only ones, with labels")
    func inventory() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let a = "inv-a-\(UInt16.random(in: 0 ... .max))", b = "inv-b-\(UInt16.random(in: 0 ... .max))"
        let other = try LocalVMWorld.instance(dataDir: world.dataDir, cgroupParent: world.cgroupParent)
        _ = try other.create(world.request(a), call: .detached)
        try world.create(b)
        // b loses its whole directory: only its cgroups remain (its control tmpfs goes first).
        let bMeta = try world.meta(b)
        try LocalVMPlugin.unmountAll(under: world.dataDir + "/sandboxes/\(b)")
        #expect(clvm_remove_tree(world.dataDir + "/sandboxes/\(b)") == 0)

        let items = try world.plugin.inventory(InventoryRequest(hostId: "test-host"), call: .detached).resources
        let byId = Dictionary(uniqueKeysWithValues: items.map { ($0.backendRef, $0) })
        #expect(byId.count == 2)
        #expect(byId[a]?.labels[OwnershipLabel.sandbox] == a)
        #expect(byId[a]?.labels[OwnershipLabel.host] == "test-host")
        #expect(byId[a]?.createdAtMs != nil)
        #expect(byId[b]?.sandboxId == b)
        #expect(byId[b]?.labels == [:])
        #expect(try world.status(b).state == "running") // judged by its cgroup
        // Destroying the cgroup-only sandbox ends its processes too.
        try world.destroy(b)
        #expect(waitForExit(pid: bMeta.initPid, ms: 0) || !ProcessIdentity(pid: bMeta.initPid, startTime: bMeta.initStartTime).isRunning)
        #expect(try world.plugin.inventory(InventoryRequest(hostId: "x"), call: .detached).resources.map(\.backendRef) == [a])
        try world.destroy(a)
    }

    @Test("set_timeout is a backstop: the sandbox stops by itself at the deadline")
    func setTimeoutBackstop() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "bs-\(UInt16.random(in: 0 ... .max))"
        try world.create(id, timeout: 3600)
        let meta = try world.meta(id)
        #expect(meta.deadlineMs != nil)
        try world.plugin.setTimeout(SetTimeoutRequest(sandboxId: id, backendRef: id, timeoutSeconds: 1), call: .detached)
        let updated = try world.meta(id)
        #expect(updated.deadlineMs! < meta.deadlineMs!)
        // No host involvement from here: the init notices the deadline and exits.
        #expect(waitForExit(pid: meta.initPid, ms: 10_000), "the sandbox did not stop at its deadline")
        #expect(try world.status(id).state == "stopped")
        expectPluginError(.conflict) {
            try world.plugin.setTimeout(SetTimeoutRequest(sandboxId: id, backendRef: id, timeoutSeconds: 5), call: .detached)
        }
        try world.destroy(id)
        expectPluginError(.notFound) {
            try world.plugin.setTimeout(SetTimeoutRequest(sandboxId: id, backendRef: id, timeoutSeconds: 5), call: .detached)
        }
    }

    @Test("create's timeout_seconds is a backstop too, and a later extension keeps it alive")
    func createTimeout() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let short = "ct-\(UInt16.random(in: 0 ... .max))"
        try world.create(short, timeout: 1)
        let meta = try world.meta(short)
        #expect(waitForExit(pid: meta.initPid, ms: 10_000), "the sandbox did not stop at its create deadline")
        try world.destroy(short)

        let extended = "ce-\(UInt16.random(in: 0 ... .max))"
        try world.create(extended, timeout: 2)
        try world.plugin.setTimeout(SetTimeoutRequest(sandboxId: extended, backendRef: extended, timeoutSeconds: 600), call: .detached)
        let m2 = try world.meta(extended)
        // Past the original deadline (2 s, plus a second of rounding), it is still running.
        #expect(!waitForExit(pid: m2.initPid, ms: 3_500), "the extension was ignored")
        #expect(try world.status(extended).state == "running")
        try world.destroy(extended)
    }
}
