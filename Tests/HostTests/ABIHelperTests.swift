import Foundation
import Testing

/// The vendorable C helper (Sources/PluginABI/contrib): its own C unit tests, compiled and run here.
@Suite(.enabled(if: PluginFixtures.hasCC, "cc is not installed; the C helper's tests cannot be built"))
struct ABIHelperTests {
    @Test func theCHelperPassesItsUnitTests() throws {
        let dir = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(dir) }
        let cc = try #require(PluginFixtures.which("cc"))
        let program = dir + "/sbx_helper_test"
        let sources = ["-I", ABIFixtures.include, "-I", ABIFixtures.contrib, "-o", program,
                       ABIFixtures.cFixtures + "/sbx_helper_test.c", ABIFixtures.contrib + "/sbx_helper.c"]
        let strict = ["-std=c11", "-g", "-Wall", "-Wextra", "-Werror"]
        // With AddressSanitizer every out-of-bounds read fails the run; compilers without it still
        // run the checks of every answer.
        let sanitized = (try? PluginFixtures.run(cc, strict + ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"] + sources)) != nil
        if !sanitized { try PluginFixtures.run(cc, strict + sources) }

        let output = try ABIFixtures.capture(program, [])
        #expect(!output.signalled && output.status == 0, "\(output)")
        #expect(output.text.contains(" checks, 0 failures"), "\(output)")
    }
}
