import Foundation
import Testing
@testable import Basics

/// The pause hook is inert without its variables and reads them as documented (the pausing itself is
/// exercised through the binary by the end-to-end FaultInjectionTests).
@Suite struct FaultPointTests {
    @Test func withoutTheVariablesTheHookIsOff() {
        #expect(FaultPoint.Settings([:]) == nil)
        #expect(FaultPoint.Settings(["SANDBOXER_TEST_PAUSE": "", "SANDBOXER_TEST_TRACE": "0"]) == nil)
        #expect(FaultPoint.Settings(["SANDBOXER_TEST_PAUSE_FIFO": "/tmp/x"]) == nil)
    }

    @Test func stepsAreACommaListAndTraceIsOne() throws {
        let s = try #require(FaultPoint.Settings(["SANDBOXER_TEST_PAUSE": "create.after-intent, destroy.after-backend,",
                                                  "SANDBOXER_TEST_PAUSE_FIFO": "/tmp/f"]))
        #expect(s.pause == ["create.after-intent", "destroy.after-backend"])
        #expect(s.fifo == "/tmp/f")
        #expect(!s.trace)
        let t = try #require(FaultPoint.Settings(["SANDBOXER_TEST_TRACE": "1"]))
        #expect(t.pause.isEmpty && t.trace)
    }

    // Skipped when the test process itself runs with the hook's variables (it would pause here).
    @Test(.enabled(if: FaultPoint.settings == nil, "SANDBOXER_TEST_PAUSE or SANDBOXER_TEST_TRACE is set for the test run"))
    func reachingAStepThisProcessWasNotToldAboutReturns() {
        FaultPoint.reach("create.after-intent")
    }
}
