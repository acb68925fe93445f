import Foundation
import Glibc
import Testing

/// kill -9 of the built binary paused (`SANDBOXER_TEST_PAUSE`) at each create step against the E2B
/// stand-in: the next command leaves the row ended with a reason and no sandbox on the stand-in.
@Suite(.serialized, .enabled(if: StandIn.available && SandboxerCLI.binary != nil,
                             "needs python3 for the E2B stand-in and the built sandboxer binary (swift build --build-tests)"))
struct E2BFaultInjectionTests {
    @Test(arguments: ["create.after-intent", "create.after-backend", "create.before-commit"])
    func killNineAtACreateStepLeavesNoStandInSandbox(_ step: String) throws {
        let standIn = try StandIn()
        let cli = try SandboxerCLI(standIn: standIn)
        let fifo = cli.home + "/pause.fifo"
        try #require(mkfifo(fifo, 0o600) == 0)
        let running = try cli.start(["create", "--json"], extraEnv: ["SANDBOXER_TEST_PAUSE": step, "SANDBOXER_TEST_PAUSE_FIFO": fifo])
        // Ready handshake: the binary names the step in the FIFO once it is paused there.
        let reader = try #require(FileHandle(forReadingAtPath: fifo))
        #expect(String(decoding: reader.readDataToEndOfFile(), as: UTF8.self) == step + "\n")
        kill(running.processIdentifier, SIGKILL)
        running.waitUntilExit()
        #expect(running.terminationReason == .uncaughtSignal)
        if step != "create.after-intent" { #expect(try standIn.live().count == 1, "the stand-in made the sandbox before the kill") }

        let list = try cli.run(["list", "--all", "--json"])
        #expect(list.status == 0, "\(list.stderr)")
        let rows = try list.array()
        #expect(rows.count == 1)
        #expect(rows.first?["state"] as? String == "failed")
        #expect(rows.first?["reason"] as? String == "failed")
        #expect(try standIn.live().isEmpty, "the interrupted create at \(step) leaked an E2B sandbox")
    }
}
