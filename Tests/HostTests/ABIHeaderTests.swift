import Foundation
import PluginABI
import Testing

/// The header itself: its frozen v1.0 sizes, and the copy a separate package builds against.
@Suite struct ABIHeaderTests {
    /// The end of the last v1.0 field of each struct is its frozen size (C checks the same with
    /// _Static_assert; this is Swift's view of the same layout).
    @Test func theFrozenSizesAreTheEndOfTheLastV1_0Field() throws {
        let hostEnd = try #require(MemoryLayout<sbx_host_api>.offset(of: \.is_cancelled)) + MemoryLayout<UnsafeRawPointer>.size
        #expect(hostEnd == Int(SBX_HOST_API_V1_0_SIZE))
        let pluginEnd = try #require(MemoryLayout<sbx_plugin>.offset(of: \.instance_destroy)) + MemoryLayout<UnsafeRawPointer>.size
        #expect(pluginEnd == Int(SBX_PLUGIN_V1_0_SIZE))
        let resultEnd = try #require(MemoryLayout<sbx_result>.offset(of: \.plugin_reserved)) + MemoryLayout<UnsafeRawPointer>.size
        #expect(resultEnd == Int(SBX_RESULT_V1_0_SIZE))
        #expect(SANDBOXER_ABI_MAJOR == 1)
        #expect(SBX_CANCELLED.rawValue == 8 && SBX_CANCELLED_MIN_HOST_MINOR == 1)
    }

    /// Tests/Fixtures/ExternalPlugin keeps a symlink to the real header, so there is nothing to
    /// drift; this fails if someone replaces it with a copy that differs.
    @Test func theExternalPackageBuildsAgainstTheRealHeader() throws {
        let fixture = PluginFixtures.repoRoot + "/Tests/Fixtures/ExternalPlugin/Sources/CSandboxerABI/include/sandboxer_plugin.h"
        let copy = try Data(contentsOf: URL(fileURLWithPath: fixture))
        let real = try Data(contentsOf: URL(fileURLWithPath: ABIFixtures.header))
        #expect(copy == real, "\(fixture) differs from Sources/PluginABI/include/sandboxer_plugin.h; make it a symlink again: ln -sf ../../../../../../Sources/PluginABI/include/sandboxer_plugin.h")
    }
}
