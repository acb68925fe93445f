import Foundation
import Testing
@testable import PluginProtocol
@testable import Core
@testable import Config
@testable import Lifecycle

/// `resources.disk` in a profile: parsed like `memory`, carried to the backend as `disk_bytes`.
@Suite struct ConfigDiskTests {
    @Test func diskIsParsedAndEncoded() throws {
        let text = ConfigValidationTests.variant(["pids: 256}": "pids: 256, disk: 2G}"])
        let config = try ConfigLoader.parse(text, file: "config.yaml", environment: ["HOME": "/home/op"], baseDirectory: "/etc")
        let profile = try #require(config.profiles["default"])
        #expect(profile.resources.diskBytes == 2 << 30)
        let limits = ResourceLimits(cpus: 1, memoryBytes: nil, pids: nil, diskBytes: profile.resources.diskBytes)
        let json = String(decoding: try JSONEncoder().encode(limits), as: UTF8.self)
        #expect(json.contains("\"disk_bytes\":2147483648"), "\(json)")
    }

    @Test func badDiskSizesAreRefused() {
        #expect(ConfigValidationTests.failure(ConfigValidationTests.variant(["pids: 256}": "pids: 256, disk: 2GB}"]))
            .hasPrefix("invalidValue: config.yaml:7:"))
        #expect(ConfigValidationTests.failure(ConfigValidationTests.variant(["pids: 256}": "pids: 256, disk: 0}"]))
            .contains("Invalid disk size \"0\""))
    }
}
