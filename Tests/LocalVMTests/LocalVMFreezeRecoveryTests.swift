import Foundation
import PluginKit
import Testing
@testable import LocalVM

/// A snapshot whose process dies mid-capture leaves the sandbox frozen; the next exec must thaw it
/// rather than hang on frozen processes.
@Suite(localVMAvailable) struct LocalVMFreezeRecoveryTests {
    @Test("exec thaws a sandbox an interrupted snapshot left frozen")
    func execThawsAnAbandonedFreeze() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "frz-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        // What a snapshot does before it dies: freeze, and never thaw.
        try world.plugin.cgroups.freeze(id)
        #expect(world.plugin.cgroups.freezerState(id) == "FROZEN")
        let r = try world.exec(id, ["echo", "alive"], timeout: 10)
        #expect(r.out == "alive\n" && !r.timedOut)
        #expect(world.plugin.cgroups.freezerState(id) == "THAWED")
    }
}
