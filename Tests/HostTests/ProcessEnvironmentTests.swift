import Foundation
import Testing
import Basics

@Suite("ProcessEnvironment")
struct ProcessEnvironmentTests {
    @Test("reads the same environment as ProcessInfo, values with '=' and empty values included")
    func sameAsProcessInfo() {
        setenv("SANDBOXER_TEST_ENV_EQUALS", "a=b=c", 1)
        setenv("SANDBOXER_TEST_ENV_EMPTY", "", 1)
        defer { unsetenv("SANDBOXER_TEST_ENV_EQUALS"); unsetenv("SANDBOXER_TEST_ENV_EMPTY") }
        let env = ProcessEnvironment.current()
        #expect(env["SANDBOXER_TEST_ENV_EQUALS"] == "a=b=c")
        #expect(env["SANDBOXER_TEST_ENV_EMPTY"] == "")
        #expect(env == ProcessInfo.processInfo.environment)
    }
}
