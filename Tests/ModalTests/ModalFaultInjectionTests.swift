import Foundation
import Glibc
import Testing

/// kill -9 of the built binary paused (`SANDBOXER_TEST_PAUSE`) at each create step against the Modal
/// stand-in: the next command leaves the row ended with a reason and no sandbox running on the stand-in.
@Suite(.enabled(if: StandIn.available, "needs the Modal stand-in's venv (python3-venv and PyPI once): \(StandIn.unavailableReason ?? "")"),
       .serialized)
struct ModalFaultInjectionTests {
    func running(_ standIn: StandIn) throws -> [[String: Any]] {
        (try standIn.state()["sandboxes"] as? [[String: Any]] ?? []).filter { $0["running"] as? Bool == true }
    }

    @Test(arguments: ["create.after-intent", "create.after-backend", "create.before-commit"])
    func killNineAtACreateStepLeavesNoStandInSandbox(_ step: String) throws {
        let standIn = try StandIn()
        let cli = try SandboxerCLI(standIn: standIn, profiles: ModalEndToEndTests.profiles)
        let fifo = cli.home + "/pause.fifo"
        try #require(mkfifo(fifo, 0o600) == 0)
        let (process, _, _) = try cli.start(["create"], extraEnv: ["SANDBOXER_TEST_PAUSE": step, "SANDBOXER_TEST_PAUSE_FIFO": fifo])
        // Ready handshake: the binary names the step in the FIFO once it is paused there.
        let reader = try #require(FileHandle(forReadingAtPath: fifo))
        #expect(String(decoding: reader.readDataToEndOfFile(), as: UTF8.self) == step + "\n")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        if step != "create.after-intent" { #expect(try running(standIn).count == 1, "the stand-in made the sandbox before the kill") }

        let list = try cli.run(["list", "--all", "--json"])
        #expect(list.status == 0, "\(list.stderr)")
        let rows = try list.array()
        #expect(rows.count == 1)
        #expect(rows.first?["state"] as? String == "failed")
        #expect(rows.first?["reason"] as? String == "failed")
        #expect(try running(standIn).isEmpty, "the interrupted create at \(step) leaked a Modal sandbox")
    }
}
