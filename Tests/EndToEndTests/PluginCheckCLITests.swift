import Foundation
import Testing

/// `sandboxer plugin check` through the built binary: lines, JSON, exit codes.
@Suite struct PluginCheckCLITests {
    /// The repository root (this file is Tests/EndToEndTests/PluginCheckCLITests.swift).
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let hasCC = Machine.hasTool("cc")

    /// A private copy of a built library (dir 0700, file 0755) so the loader's permission rules hold.
    func copy(_ name: String, _ cli: CLIRunner) throws -> String {
        let dir = cli.home + "/lib"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let dest = dir + "/" + name
        try FileManager.default.copyItem(atPath: CLIRunner.productsDirectory + "/" + name, toPath: dest)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dest)
        return dest
    }

    @Test func theTestPluginPassesWithOneLinePerRule() throws {
        let cli = try CLIRunner()
        let lib = try copy("libSandboxerTestPlugin.so", cli)
        try FileManager.default.createDirectory(atPath: cli.home + "/state", withIntermediateDirectories: true)
        let r = try cli.run(["plugin", "check", lib, "--config", #"{"state_dir": "\#(cli.home)/state"}"#])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 31, "\(lines)")  // 27 + the four exec-stream rules
        #expect(lines.first?.hasPrefix("pass  load.entry ") == true)
        #expect(lines.allSatisfy { $0.hasPrefix("pass  ") || $0.hasPrefix("skip  ") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("skip  snapshot.take ") && $0.hasSuffix("sandboxer.snapshot/1 is not declared") })
        #expect(r.stderr.contains("0 fail"), "\(r.stderr)")

        let json = try cli.run(["plugin", "check", lib, "--json", "--config", #"{"state_dir": "\#(cli.home)/state"}"#])
        #expect(json.status == 0)
        let report = try json.object()
        #expect(report["passed"] as? Bool == true)
        #expect((report["rules"] as? [[String: Any]])?.count == 31)
        #expect((report["plugin"] as? [String: Any])?["name"] as? String == "test")
    }

    @Test(.enabled(if: PluginCheckCLITests.hasCC, "cc is not installed; the broken plugin cannot be built"))
    func theBrokenPluginExitsOneNamingTheRules() throws {
        let cli = try CLIRunner()
        let lib = cli.home + "/libbrokenplugin.so"
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        cc.arguments = ["cc", "-shared", "-fPIC", "-I", Self.repoRoot + "/Sources/PluginABI/include", "-o", lib,
                        Self.repoRoot + "/Tests/Fixtures/BrokenPlugin/brokenplugin.c"]
        try cc.run()
        cc.waitUntilExit()
        try #require(cc.terminationStatus == 0)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: cli.home)
        let r = try cli.run(["plugin", "check", lib])
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        let failed = r.stdout.split(separator: "\n").filter { $0.hasPrefix("fail  ") }
        #expect(failed.contains { $0.hasPrefix("fail  request.undeclared-capability ") && $0.contains("inventory answered ok") }, "\(failed)")
        #expect(failed.contains { $0.hasPrefix("fail  load.refuses-other-major ") })
        #expect(failed.contains { $0.hasPrefix("fail  response.wellformed ") && $0.contains("'status' answered bytes that are not a JSON object") })
        let json = try cli.run(["plugin", "check", lib, "--json"])
        #expect(json.status == 1)
        #expect(try json.object()["passed"] as? Bool == false)
    }

    /// The Packer builder (a builder only) with the example template and a template that runs until cancelled.
    @Test(.enabled(if: Machine.hasTool("packer") && FileManager.default.isExecutableFile(atPath: "/bin/busybox"),
                   "needs packer and busybox-static (scripts/install-deps.sh)"))
    func thePackerBuilderPassesItsBuildRules() throws {
        let cli = try CLIRunner()
        let lib = try copy("libSandboxerPacker.so", cli)
        let r = try cli.run(["plugin", "check", lib, "--config", #"{"data_dir": "\#(cli.home)/packer"}"#,
                             "--build-template", Self.repoRoot + "/docs/examples/images/busybox-marker/template.json",
                             "--build-cancel-template", Self.repoRoot + "/Tests/Fixtures/Packer/runs-until-cancelled.json"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        for rule in ["describe.role", "build.invalid-template", "build.artifact", "build.cancel"] {
            #expect(r.stdout.contains("pass  \(rule) "), "\(rule): \(r.stdout)")
        }
        #expect(r.stdout.contains("skip  lifecycle.create "))
    }

    @Test func usageMistakesExitTwo() throws {
        let cli = try CLIRunner()
        for args in [["plugin"], ["plugin", "check"], ["plugin", "frob", "/x.so"], ["plugin", "check", "/x.so", "--config", "not json"],
                     ["plugin", "check", "/x.so", "--config", "[1]"], ["plugin", "check", "/x.so", "--config", "@/nonexistent/c.json"]] {
            let r = try cli.run(args)
            #expect(r.status == 2, "\(args): \(r.stderr)")
            #expect(r.stderr.hasPrefix("sandboxer: "), "\(args)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(args): \(r.stderr)")
        }
        let missing = try cli.run(["plugin", "check", "/nonexistent/libx.so"])
        #expect(missing.status == 1)
        #expect(missing.stdout.hasPrefix("fail  load.entry "))
        let help = try cli.run(["plugin", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("Usage: sandboxer plugin"))
        #expect(help.stdout.contains("--config JSON"))
        #expect(!help.stdout.contains("--config FILE"), "the command's --config replaces the global one in its help")
    }
}
