import Foundation
import Testing

/// Live sandboxes pin the built image they booted (docs/images.md, "Pinning"), through the built
/// binary with the TestPlugin as fake builder and backend (`ImageBuildEndToEndTests.runner`).
@Suite struct ImagePinEndToEndTests {
    typealias Images = ImageBuildEndToEndTests

    func image(_ cli: CLIRunner, _ id: String) throws -> [String: Any]? {
        try cli.run(["images", "--json"]).array().first { $0["id"] as? String == id }
    }

    func decision(_ result: CLIRunner.Result, _ id: String) throws -> [String: Any]? {
        (try result.object()["images"] as? [[String: Any]])?.first { $0["id"] as? String == id }
    }

    func builds(_ cli: CLIRunner) -> Int {
        ((try? String(contentsOfFile: cli.home + "/builder/build.log", encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    @Test func pruneAndImageRmKeepAnImageALiveSandboxBootedUntilItIsDestroyed() throws {
        var cli = try Images.runner()
        let created = try cli.run(["create", "--profile", "web", "--json"])
        #expect(created.status == 0, "\(created.stderr)")
        let sandbox = try #require(try created.object()["id"] as? String)
        let listed = try cli.run(["images", "--json"]).array()
        let id = try #require(listed.first?["id"] as? String)
        let file = try #require(((listed.first?["artifacts"] as? [[String: Any]])?.first?["path"]) as? String)
        #expect(listed.first?["pins"] as? Int == 1)
        #expect(try cli.run(["images"]).stdout.contains("PINS"))

        // A var change: the image is no profile's any more, only the sandbox keeps it.
        try cli.useConfig(Images.config(vars: "{marker: v2}"))
        let applied = try cli.run(["prune-images", "--apply", "--json"])
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(try decision(applied, id)?["reason"] as? String == "pinned")
        #expect(try decision(applied, id)?["remove"] as? Bool == false)
        #expect(try decision(applied, id)?["pins"] as? Int == 1)
        let told = try cli.run(["prune-images", "--apply"])
        #expect(told.stdout.contains("pinned"), "\(told.stdout)")
        #expect(told.stderr.contains("Kept 1 image(s) that 1 live sandbox(es) booted"), "\(told.stderr)")
        #expect(try image(cli, id) != nil)
        #expect(FileManager.default.fileExists(atPath: file), "prune removed the artifact of a live sandbox")

        let refused = try cli.run(["image-rm", id])
        #expect(refused.status == 1)
        #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains("Image \(id) of profile 'web' is in use by 1 live sandbox (\(sandbox))"), "\(refused.stderr)")
        #expect(refused.stderr.contains("--force"), "\(refused.stderr)")
        #expect(FileManager.default.fileExists(atPath: file))

        #expect(try cli.run(["destroy", sandbox]).status == 0)
        #expect(try image(cli, id)?["pins"] as? Int == 0)
        let pruned = try cli.run(["prune-images", "--apply", "--json"])
        #expect(try decision(pruned, id)?["remove"] as? Bool == true)
        #expect(try image(cli, id) == nil)
        #expect(!FileManager.default.fileExists(atPath: file))
    }

    @Test func imageRmForceRemovesAPinnedImageAndTheRecreateBuildsAgain() throws {
        let cli = try Images.runner()
        let sandbox = try #require(try cli.run(["create", "--profile", "web", "--json"]).object()["id"] as? String)
        let id = try #require(try cli.run(["images", "--json"]).array().first?["id"] as? String)
        let forced = try cli.run(["image-rm", id, "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(forced.stdout == "\(id) removed\n")
        #expect(forced.stderr.contains("1 live sandbox booted from it keeps running; a recreate of it will build the image of profile 'web' again"), "\(forced.stderr)")
        #expect(try cli.run(["images", "--json"]).array().isEmpty)
        #expect(try cli.run(["show", sandbox, "--json"]).object()["state"] as? String == "ready", "the sandbox did not live on")

        let recreated = try cli.run(["recreate", sandbox])
        #expect(recreated.status == 0, "\(recreated.stderr)")
        #expect(builds(cli) == 2, "the recreate did not build the removed image again")
        let rebuilt = try cli.run(["images", "--json"]).array()
        #expect(rebuilt.count == 1)
        #expect(rebuilt.first?["id"] as? String != id)
        #expect(rebuilt.first?["pins"] as? Int == 1, "the recreate did not pin the image it booted")
    }

    @Test func aRecreateMovesThePinToTheImageItBoots() throws {
        var cli = try Images.runner()
        let sandbox = try #require(try cli.run(["create", "--profile", "web", "--json"]).object()["id"] as? String)
        let old = try #require(try cli.run(["images", "--json"]).array().first?["id"] as? String)
        try cli.useConfig(Images.config(vars: "{marker: v2}"))
        let recreated = try cli.run(["recreate", sandbox])
        #expect(recreated.status == 0, "\(recreated.stderr)")
        let rows = try cli.run(["images", "--json"]).array()
        #expect(rows.count == 2)
        #expect(rows.first { $0["id"] as? String == old }?["pins"] as? Int == 0)
        #expect(rows.first { $0["id"] as? String != old }?["pins"] as? Int == 1)
        #expect(try cli.run(["image-rm", old]).status == 0, "the image the sandbox no longer runs stayed pinned")
    }

    /// kill -9 of a create paused at each step after its intent (the row still `provisioning`; from
    /// `create.after-backend` on, the backend has made the sandbox): while the process lives the image
    /// is pinned; once it is gone, the next command reconciles the row (failed, instance destroyed)
    /// and the image is free again, not pinned forever.
    @Test(arguments: ["create.after-intent", "create.after-backend", "create.before-commit"])
    func aCreateKilledMidWayPinsWhileAliveAndIsReconciledAfter(_ step: String) throws {
        var cli = try Images.runner()
        let id = try #require(try cli.run(["build", "web", "--json"]).object()["id"] as? String)
        let fifo = cli.home + "/pause.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let running = try cli.start(["create", "--profile", "web"],
                                    extraEnv: ["SANDBOXER_TEST_PAUSE": step, "SANDBOXER_TEST_PAUSE_FIFO": fifo])
        try? running.input.fileHandleForWriting.close()
        let exited = DispatchSemaphore(value: 0), woke = DispatchSemaphore(value: 0)
        let hasExited = LockedBox(false)
        Thread.detachNewThread { running.process.waitUntilExit(); hasExited.set(true); exited.signal(); woke.signal() }
        let reached = FIFOReader.read(fifo, woke: woke, writerExited: { hasExited.get() })
        guard reached == step else {
            kill(running.process.processIdentifier, SIGKILL)
            let out = try running.finish()
            Issue.record("the create never reached \(step) (read '\(reached ?? "-")'; exit \(out.status): \(out.stderr))")
            return
        }
        // Paused: the intent row is provisioning with a live owner, and pins the image.
        try cli.useConfig(Images.config(vars: "{marker: v2}"))
        #expect(try image(cli, id)?["pins"] as? Int == 1)
        #expect(try cli.run(["image-rm", id]).status == 1, "the image of a create in flight was removable")
        #expect(try decision(try cli.run(["prune-images", "--apply", "--json"]), id)?["reason"] as? String == "pinned")

        kill(running.process.processIdentifier, SIGKILL)
        exited.wait()
        #expect(running.process.terminationReason == .uncaughtSignal)
        let rows = try cli.run(["list", "--all", "--json"]).array()
        #expect(rows.count == 1)
        #expect(rows.first?["state"] as? String == "failed", "the interrupted create was not reconciled: \(rows)")
        #expect(try image(cli, id)?["pins"] as? Int == 0, "a failed sandbox still pins its image")
        let reap = try cli.run(["reap-stale", "--json"]).object()
        #expect((reap["orphans"] as? [Any])?.isEmpty == true, "the killed create's instance was left: \(reap)")
        let pruned = try cli.run(["prune-images", "--apply", "--json"])
        #expect(try decision(pruned, id)?["remove"] as? Bool == true)
        #expect(try image(cli, id) == nil)
    }
}
