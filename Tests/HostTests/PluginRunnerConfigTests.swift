import Core
import Config
import Testing

/// A backend's `isolation:` key: where its plugin runs.
@Suite struct PluginRunnerConfigTests {
    @Test func isolationIsReadAndAbsentMeansTheDefault() throws {
        #expect(try BackendCallConfigTests.parse("    isolation: process")?.isolation == .process)
        #expect(try BackendCallConfigTests.parse("    isolation: in_process")?.isolation == .inProcess)
        #expect(try BackendCallConfigTests.parse("")?.isolation == nil)
        #expect(try BackendCallConfigTests.parse("    isolation: ~")?.isolation == nil)
    }

    @Test func anUnknownIsolationIsALocatedError() {
        #expect(BackendCallConfigTests.failure("    isolation: sometimes")
                == "invalidValue: config.yaml:4:16: Invalid isolation \"sometimes\" in backend \"vm\": expected process or in_process.")
    }
}
