import Foundation
import Testing

/// The images cache through the built binary (docs/images.md), with the TestPlugin as a fake builder
/// (it notes every build call in `<home>/builder/build.log`) and as the backend (it notes the image
/// artifact each create boots in `<home>/fake/create-images.log`).
@Suite struct ImageBuildEndToEndTests {
    /// A runner with backend `fake` (boots rootfs-tar), builder `tb`, and profile `web` built from
    /// `images/web.pkr.hcl` with `vars`. `builderExtra` is YAML appended to the builder's config.
    static func runner(vars: String = "{marker: v1}", builderExtra: String = "", builderKeys: String = "",
                       bootKinds: String = "[rootfs-tar]", template: String = "source \"null\" \"x\" {}\n") throws -> CLIRunner {
        var cli = try CLIRunner()
        for dir in ["fake", "builder", "images"] {
            try FileManager.default.createDirectory(atPath: cli.home + "/" + dir, withIntermediateDirectories: true)
        }
        try template.write(toFile: cli.home + "/images/web.pkr.hcl", atomically: true, encoding: .utf8)
        try cli.useConfig(config(vars: vars, builderExtra: builderExtra, builderKeys: builderKeys, bootKinds: bootKinds))
        return cli
    }

    static func config(vars: String, builderExtra: String = "", builderKeys: String = "", bootKinds: String = "[rootfs-tar]",
                       plugin: String = "@PRODUCTS@/libSandboxerTestPlugin.so") -> String {
        """
        data_dir: @HOME@/data
        backends:
          fake:
            plugin: @PRODUCTS@/libSandboxerTestPlugin.so
            config:
              state_dir: @HOME@/fake
              boot_artifact_kinds: \(bootKinds)
        builders:
          tb:
            plugin: \(plugin)
        \(builderKeys)
            config:
              state_dir: @HOME@/builder
              capabilities: [sandboxer.build/1]
        \(builderExtra)
        profiles:
          web:
            backend: fake
            ttl: {default: 1h, max: 4h}
            build:
              builder: tb
              template: images/web.pkr.hcl
              vars: \(vars)
        """
    }

    func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }
    func builds(_ cli: CLIRunner) -> [String] { lines(cli.home + "/builder/build.log") }
    func boots(_ cli: CLIRunner) -> [String] { lines(cli.home + "/fake/create-images.log") }
    func workDirs(_ cli: CLIRunner) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: cli.home + "/data/builds")) ?? []
    }

    @Test func buildThenCreateBootsTheImageAndTheSecondCreateReusesTheCache() throws {
        let cli = try Self.runner()
        let built = try cli.run(["build", "web", "--json"])
        #expect(built.status == 0, "\(built.stderr)")
        let image = try built.object()
        #expect(image["state"] as? String == "ready")
        let artifact = try #require((image["artifacts"] as? [[String: Any]])?.first)
        let path = try #require(artifact["path"] as? String)
        let digest = try #require(artifact["digest"] as? String)
        #expect(path == cli.home + "/data/images/sha256/" + digest.dropFirst("sha256:".count))
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(builds(cli).count == 1)
        #expect(workDirs(cli).isEmpty, "the build's work dir was left behind")

        var ids: [String] = []
        for _ in 0..<2 {
            let created = try cli.run(["create", "--profile", "web", "--json"])
            #expect(created.status == 0, "\(created.stderr)")
            if let id = try created.object()["id"] as? String { ids.append(id) }
        }
        // A recreate boots the built image too (not the profile's image name).
        let recreated = try cli.run(["recreate", try #require(ids.first)])
        #expect(recreated.status == 0, "\(recreated.stderr)")
        #expect(builds(cli).count == 1, "a create rebuilt a cached image")
        let booted = boots(cli)
        #expect(booted.count == 3)
        #expect(booted.allSatisfy { $0.contains(" rootfs-tar \(digest) \(path)") }, "\(booted)")
        let listed = try cli.run(["images", "--json"]).array()
        #expect(listed.count == 1)
        #expect(listed.first?["last_used_at"] is String)
    }

    @Test func createBuildsOnFirstUseAndNoBuildFailsFast() throws {
        let cli = try Self.runner()
        let refused = try cli.run(["create", "--profile", "web", "--no-build"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("is not built"), "\(refused.stderr)")
        #expect(try cli.run(["list", "--all", "--json"]).array().isEmpty, "a refused create left a sandbox row")
        #expect(try cli.run(["images", "--json"]).array().isEmpty)
        #expect(builds(cli).isEmpty)

        let created = try cli.run(["create", "--profile", "web"])
        #expect(created.status == 0, "\(created.stderr)")
        // Not a terminal: one line per step of the builder's progress.
        #expect(created.stderr.contains("sandboxer: build web: step 1/3: read template\n"), "\(created.stderr)")
        #expect(created.stderr.contains("sandboxer: build web: step 3/3: write rootfs.tar\n"))
        #expect(builds(cli).count == 1)
        #expect(boots(cli).count == 1)
        let fast = try cli.run(["create", "--profile", "web", "--no-build"])
        #expect(fast.status == 0, "\(fast.stderr)")
        #expect(builds(cli).count == 1)
    }

    @Test func aTemplateChangeOrAVarChangeRebuilds() throws {
        var cli = try Self.runner()
        #expect(try cli.run(["build", "web"]).status == 0)
        #expect(try cli.run(["build", "web"]).status == 0)
        #expect(builds(cli).count == 1)
        try "source \"null\" \"y\" {}\n".write(toFile: cli.home + "/images/web.pkr.hcl", atomically: true, encoding: .utf8)
        #expect(try cli.run(["build", "web"]).status == 0)
        #expect(builds(cli).count == 2, "a template change did not rebuild")
        try cli.useConfig(Self.config(vars: "{marker: v2}"))
        #expect(try cli.run(["build", "web"]).status == 0)
        #expect(builds(cli).count == 3, "a var change did not rebuild")
        #expect(builds(cli).last?.hasSuffix(" v2") == true)
        let keys = Set(builds(cli).map { $0.split(separator: " ")[1] })
        #expect(keys.count == 3)
        // --force builds again and replaces the cached image of the same key.
        #expect(try cli.run(["build", "web", "--force"]).status == 0)
        #expect(builds(cli).count == 4)
        let states = try cli.run(["images", "--json"]).array().map { $0["state"] as? String }
        #expect(states.filter { $0 == "ready" }.count == 3)
    }

    /// A failed build: exit non-zero, one line naming the step and the log, the log exists, no ready
    /// image, no sandbox row, no work dir.
    func expectFailure(_ cli: CLIRunner, _ args: [String], step: String, status: Int32 = 3,
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try cli.run(args)
        #expect(result.status == status, "\(result.stderr)", sourceLocation: sourceLocation)
        let errorLines = result.stderr.split(separator: "\n").filter { !$0.hasPrefix("sandboxer: build web:") }
        #expect(errorLines.count == 1, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(step), "\(result.stderr)", sourceLocation: sourceLocation)
        if let log = result.stderr.components(separatedBy: "Log: ").last?.trimmingCharacters(in: .whitespacesAndNewlines),
           result.stderr.contains("Log: ") {
            #expect(FileManager.default.fileExists(atPath: log), sourceLocation: sourceLocation)
        }
        let images = try cli.run(["images", "--json"]).array()
        #expect(!images.contains { $0["state"] as? String == "ready" }, sourceLocation: sourceLocation)
        #expect(try cli.run(["list", "--all", "--json"]).array().isEmpty, sourceLocation: sourceLocation)
        #expect(workDirs(cli).isEmpty, sourceLocation: sourceLocation)
        let stored = (try? FileManager.default.contentsOfDirectory(atPath: cli.home + "/data/images/sha256")) ?? []
        #expect(stored.isEmpty, "a failed build left an artifact", sourceLocation: sourceLocation)
    }

    @Test func failedBuildsNameTheStepAndLeaveNothingBehind() throws {
        let broken = try Self.runner(template: "FAIL_TEMPLATE {}\n")
        try expectFailure(broken, ["create", "--profile", "web"], step: "failed at step 'step 1/3: read template': template error")
        #expect(try broken.run(["images", "--json"]).array().first?["state"] as? String == "failed")

        let provisioner = try Self.runner(vars: "{marker: v1, fail: provisioner}")
        try expectFailure(provisioner, ["build", "web"], step: "failed at step 'step 2/3: provisioner shell-local': provisioner shell-local exited")

        let digest = try Self.runner(vars: "{marker: v1, bad_digest: \"1\"}")
        try expectFailure(digest, ["build", "web"], step: "failed at step 'collect artifacts'")

        var missing = try Self.runner()
        try missing.useConfig(Self.config(vars: "{marker: v1}", plugin: "@HOME@/no-such-builder.so"))
        try expectFailure(missing, ["create", "--profile", "web"], step: "failed at step 'load builder tb'", status: 1)

        let clock = try Self.runner(template: "locals { t = timestamp() }\n")
        try expectFailure(clock, ["build", "web"], step: "calls timestamp()", status: 1)
    }

    @Test func aBuildPastItsDeadlineIsCancelled() throws {
        let cli = try Self.runner(builderExtra: "      hang: [build]", builderKeys: "    timeouts: {build: 1s}")
        try expectFailure(cli, ["build", "web"], step: "did not finish within 1 s and was cancelled")
    }

    @Test func aBackendThatBootsNoBuiltImageIsAConfigErrorAtFirstUse() throws {
        let cli = try Self.runner(bootKinds: "[]")
        let result = try cli.run(["create", "--profile", "web"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("boots no built artifacts"), "\(result.stderr)")
        #expect(builds(cli).isEmpty)
    }

    @Test func killNineMidBuildIsReconciledByTheNextCommand() throws {
        var cli = try Self.runner()
        let fifo = cli.home + "/ready.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        try cli.useConfig(Self.config(vars: "{marker: v1}", builderExtra: "      hang: [build]\n      ready_fifo: \(fifo)"))
        let running = try cli.start(["build", "web"])
        let reader = try #require(FileHandle(forReadingAtPath: fifo))
        _ = reader.readDataToEndOfFile()   // the builder is inside build
        #expect(workDirs(cli).count == 1)
        kill(running.process.processIdentifier, SIGKILL)
        running.process.waitUntilExit()

        let next = try cli.run(["images"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(next.stderr.contains("reconciled an interrupted build"), "\(next.stderr)")
        let rows = try cli.run(["images", "--json"]).array()
        #expect(rows.count == 1)
        #expect(rows.first?["state"] as? String == "failed")
        #expect((rows.first?["error"] as? String)?.contains("interrupted") == true)
        #expect(workDirs(cli).isEmpty, "the interrupted build's work dir was left behind")
    }

    @Test func concurrentCreatesBuildOnce() throws {
        var cli = try Self.runner()
        let ready = cli.home + "/ready.fifo", gate = cli.home + "/gate.fifo"
        #expect(mkfifo(ready, 0o600) == 0)
        #expect(mkfifo(gate, 0o600) == 0)
        try cli.useConfig(Self.config(vars: "{marker: v1}", builderExtra: "      ready_fifo: \(ready)\n      build: {gate_fifo: \(gate)}"))
        let first = try cli.start(["create", "--profile", "web"])
        _ = try #require(FileHandle(forReadingAtPath: ready)).readDataToEndOfFile()   // first is building
        let second = try cli.start(["create", "--profile", "web"])
        // Handshake: the second says it waits for the first's build before the gate opens.
        var seen = Data()
        let errors = second.err.fileHandleForReading
        // A second build of its own ("building img-…") is the regression: it would block on the
        // ready FIFO nobody reads, so it is reported and both processes stopped, not waited for.
        func said(_ text: String) -> Bool { String(decoding: seen, as: UTF8.self).contains(text) }
        while !said("waiting for build") && !said("building img-") {
            let chunk = errors.availableData
            if chunk.isEmpty { break }
            seen += chunk
        }
        guard said("waiting for build") else {
            Issue.record("the second create did not join the first's build: \(String(decoding: seen, as: UTF8.self))")
            for p in [first.process, second.process] { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
            return
        }
        let opener = try #require(FileHandle(forWritingAtPath: gate))
        opener.write(Data("go\n".utf8))
        try opener.close()
        let a = try first.finish()
        second.process.waitUntilExit()
        #expect(a.status == 0, "\(a.stderr)")
        #expect(second.process.terminationStatus == 0)
        #expect(builds(cli).count == 1, "two concurrent creates built twice")
        let booted = boots(cli)
        #expect(booted.count == 2)
        #expect(Set(booted.map { $0.split(separator: " ")[2] }).count == 1, "the creates booted different images")
    }

    @Test func pruneKeepsWhatProfilesUse() throws {
        var cli = try Self.runner()
        let old = try #require(try cli.run(["build", "web", "--json"]).object()["id"] as? String)
        try cli.useConfig(Self.config(vars: "{marker: v2}"))
        let current = try cli.run(["build", "web", "--json"]).object()
        let currentId = try #require(current["id"] as? String)
        let currentFile = try #require(((current["artifacts"] as? [[String: Any]])?.first?["path"]) as? String)

        let budget = try cli.run(["prune-images", "--max-bytes", "1G", "--json"]).object()
        let kept = (budget["images"] as? [[String: Any]] ?? []).filter { $0["remove"] as? Bool == false }.compactMap { $0["id"] as? String }
        #expect(Set(kept) == [old, currentId], "within the budget both stay")

        let plan = try cli.run(["prune-images", "--json"]).object()
        let decisions = plan["images"] as? [[String: Any]] ?? []
        #expect(decisions.first { $0["id"] as? String == currentId }?["reason"] as? String == "in_use")
        #expect(decisions.first { $0["id"] as? String == old }?["remove"] as? Bool == true)
        #expect(try cli.run(["images", "--json"]).array().count == 2, "a dry run removed something")

        let applied = try cli.run(["prune-images", "--apply"])
        #expect(applied.status == 0, "\(applied.stderr)")
        let left = try cli.run(["images", "--json"]).array()
        #expect(left.map { $0["id"] as? String } == [currentId])
        #expect(FileManager.default.fileExists(atPath: currentFile))
        #expect(try FileManager.default.contentsOfDirectory(atPath: cli.home + "/data/images/sha256").count == 1)
        let booted = try cli.run(["create", "--profile", "web", "--no-build", "--json"])
        #expect(booted.status == 0)
        // The sandbox pins the image (ImagePinEndToEndTests); once it is gone the image can go.
        #expect(try cli.run(["destroy", try #require(try booted.object()["id"] as? String)]).status == 0)

        let removed = try cli.run(["image-rm", currentId])
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: currentFile))
        #expect(try cli.run(["create", "--profile", "web", "--no-build"]).status == 1)
    }

    @Test func theImageCommandsHaveHelpAndUsageErrors() throws {
        let cli = try CLIRunner()
        for command in ["build", "images", "image-rm", "prune-images"] {
            let r = try cli.run([command, "--help"])
            #expect(r.status == 0, "\(command) --help")
            #expect(r.stdout.contains("Usage: sandboxer \(command)"))
            #expect(r.stdout.contains("--json"))
        }
        #expect(try cli.run(["create", "--help"]).stdout.contains("--no-build"))
        let fake = try Self.runner()
        for args in [["build"], ["image-rm"], ["prune-images", "--max-bytes", "lots"]] {
            let r = try fake.run(args)
            #expect(r.status == 2, "\(args): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(args): \(r.stderr)")
        }
        #expect(try fake.run(["image-rm", "img-0000000000000000"]).status == 1)
        #expect(try fake.run(["build", "nosuch"]).status == 1)
    }
}
