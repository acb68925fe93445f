import Foundation
import Glibc
import Testing
@testable import PluginProtocol
@testable import Backends
@testable import PluginCheck

/// `plugin check` against real libraries: the good fixtures pass every rule that applies, the broken
/// one fails exactly the rules it breaks.
@Suite struct PluginCheckTests {
    /// Rules that must pass on every good lifecycle plugin, whatever else it declares.
    static let coreRules = ["load.entry", "load.refuses-other-major", "result.free-empty", "instance.create", "describe.shape",
                            "describe.role", "request.unknown-operation", "request.malformed-json", "lifecycle.create",
                            "lifecycle.status", "request.unknown-fields", "concurrency.invoke", "lifecycle.destroy",
                            "lifecycle.status-after-destroy", "lifecycle.destroy-twice", "lifecycle.unknown-ref",
                            "response.wellformed"]

    func check(_ path: String, config: JSONValue = [:]) -> PluginCheckReport {
        PluginCheck.run(PluginCheck.Options(path: path, config: config, threads: 8, callsPerThread: 10))
    }

    func expectPasses(_ report: PluginCheckReport, _ rules: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(report.passed, "\(report.results.filter { $0.outcome == .fail }.map(\.line))", sourceLocation: sourceLocation)
        #expect(report.results.map(\.rule).sorted() == PluginCheck.rules.sorted(), "every rule reports once", sourceLocation: sourceLocation)
        for rule in rules {
            #expect(report.result(rule)?.outcome == .pass, "\(rule): \(report.result(rule)?.line ?? "missing")", sourceLocation: sourceLocation)
        }
    }

    @Test func theTestPluginPasses() throws {
        let dir = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(dir) }
        let report = check(try PluginFixtures.testPluginPath(), config: ["state_dir": .string(dir)])
        expectPasses(report, Self.coreRules + ["request.undeclared-capability", "exec.run", "timeout.set", "inventory.labels"])
        for rule in ["snapshot.take", "snapshot.restore", "snapshot.delete"] {
            #expect(report.result(rule)?.outcome == .skip)
            #expect(report.result(rule)?.detail == "sandboxer.snapshot/1 is not declared")
        }
        #expect(report.plugin?.name == "test" && report.plugin?.abi == "1.1")
        // Everything it made is gone.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".json") } == [])
        let json = report.jsonValue
        #expect(json["passed"] == true)
        #expect(json["counts"]?["fail"] == 0)
        #expect(json["rules"]?.arrayValue?.count == PluginCheck.rules.count)
    }

    @Test(.enabled(if: PluginFixtures.hasCC, "cc is not installed; the C plugins cannot be built"))
    func theCPluginPasses() throws {
        let dir = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(dir) }
        let report = check(try PluginFixtures.compileCPlugin(into: dir))
        expectPasses(report, Self.coreRules + ["request.undeclared-capability", "exec.run"])
        #expect(report.result("inventory.labels")?.outcome == .skip)
        #expect(report.result("request.undeclared-capability")?.detail == "inventory, set_timeout, snapshot, restore, delete_snapshot, build, exec_start, exec_read, exec_write, exec_wait, exec_kill, exec_release answer not_implemented")
    }

    @Test(.enabled(if: PluginFixtures.hasCC, "cc is not installed; the C plugins cannot be built"))
    func theBrokenPluginFailsTheRulesItBreaks() throws {
        let dir = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(dir) }
        let report = check(try PluginFixtures.compileBrokenPlugin(into: dir))
        #expect(!report.passed)
        let failed = Set(report.results.filter { $0.outcome == .fail }.map(\.rule))
        #expect(failed == ["load.refuses-other-major", "request.undeclared-capability", "lifecycle.status", "request.unknown-fields",
                           "concurrency.invoke", "lifecycle.status-after-destroy", "lifecycle.unknown-ref", "response.wellformed"],
                "\(failed.sorted())")
        #expect(report.result("load.refuses-other-major")?.detail.contains("returned a table to a host of ABI major 2") == true)
        #expect(report.result("request.undeclared-capability")?.detail.hasPrefix("inventory answered ok") == true,
                "\(report.result("request.undeclared-capability")?.detail ?? "")")
        #expect(report.result("response.wellformed")?.detail.contains("'status' answered bytes that are not a JSON object") == true)
        for rule in ["load.entry", "lifecycle.create", "lifecycle.destroy", "lifecycle.destroy-twice", "request.unknown-operation",
                     "request.malformed-json", "describe.shape"] {
            #expect(report.result(rule)?.outcome == .pass, "\(rule): \(report.result(rule)?.line ?? "missing")")
        }
    }

    @Test func aLibraryThatDoesNotLoadFailsTheFirstRuleAndSkipsTheRest() throws {
        let report = check("/nonexistent/libnothing.so")
        #expect(report.result("load.entry")?.outcome == .fail)
        #expect(report.result("load.entry")?.detail == "Cannot load plugin /nonexistent/libnothing.so: no such file.")
        #expect(report.results.count == PluginCheck.rules.count)
        #expect(report.results.dropFirst().allSatisfy { $0.outcome == .skip && $0.detail == "the library did not load" })
        #expect(report.plugin == nil)
    }

    @Test func aConfigThePluginRefusesFailsInstanceCreate() throws {
        let report = check(try PluginFixtures.testPluginPath(), config: ["state_dir": "relative/dir"])
        #expect(report.result("instance.create")?.outcome == .fail)
        #expect(report.result("instance.create")?.detail.contains("invalid_request: The test plugin needs 'state_dir', an absolute path.") == true)
        #expect(report.result("describe.shape")?.outcome == .skip)
    }

    @Test func capabilityStringsAreNamespaceNameRevision() {
        for good in ["sandboxer.exec/1", "acme.gpu-pool/12", "a.b.c/3"] { #expect(CheckSession.isCapability(good), "\(good)") }
        for bad in ["exec/1", "sandboxer.exec", "sandboxer.exec/0", "sandboxer.exec/01", "Sandboxer.exec/1", "sandboxer..exec/1", "sandboxer.exec/1/2"] {
            #expect(!CheckSession.isCapability(bad), "\(bad)")
        }
        #expect(CheckSession.describeProblems(Data(#"{"name":"x","version":"1","capabilities":["bad"]}"#.utf8))
                == [#"capability "bad" is not namespace.name/revision"#])
        #expect(CheckSession.describeProblems(Data(#"{"name":"","capabilities":"x"}"#.utf8))
                == ["'name' must be a non-empty string", "'version' must be a non-empty string", "'capabilities' must be an array of strings"])
    }

    @Test func lineFormatHasColumns() {
        let line = RuleResult(.pass, "lifecycle.create", "created x").line
        #expect(line == "pass  lifecycle.create                created x")
    }

    /// LocalVM on this machine: real namespace sandboxes, snapshots included.
    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/bin/busybox"),
                   "needs root (namespaces, cgroups) and busybox-static for LocalVM's default image"),
          .timeLimit(.minutes(5)))
    func localVMPasses() throws {
        let dir = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(dir) }
        let library = try PluginFixtures.productCopy("libSandboxerLocalVM.so", into: dir)
        let report = check(library, config: ["data_dir": .string(dir + "/data"), "cgroup_parent": .string("sbxcheck-" + UUID().uuidString.prefix(8).lowercased())])
        expectPasses(report, Self.coreRules + ["exec.run", "timeout.set", "inventory.labels", "snapshot.take", "snapshot.restore",
                                               "snapshot.delete", "exec-stream.output", "exec-stream.stdin", "exec-stream.kill",
                                               "exec-stream.release"])
        // LocalVM declares every capability but sandboxer.build/1, whose `build` answers not_implemented.
        #expect(report.result("request.undeclared-capability")?.outcome == .pass)
        #expect(report.result("build.artifact")?.outcome == .skip)
    }
}

extension PluginFixtures {
    /// Compiles Tests/Fixtures/BrokenPlugin/brokenplugin.c into `dir`; returns the library path.
    static func compileBrokenPlugin(into dir: String) throws -> String {
        guard let cc = which("cc") else { throw Failure(description: "cc is not on PATH.") }
        let out = dir + "/libbrokenplugin.so"
        try run(cc, ["-shared", "-fPIC", "-I", repoRoot + "/Sources/PluginABI/include", "-o", out,
                     repoRoot + "/Tests/Fixtures/BrokenPlugin/brokenplugin.c"])
        chmod(out, 0o755)
        return out
    }

    /// A copy of a built library in `dir` (mode 0755), so the loader's permission rules hold.
    static func productCopy(_ name: String, into dir: String) throws -> String {
        let source = try productsDir.get() + "/" + name
        let dest = dir + "/" + name
        try FileManager.default.copyItem(atPath: source, toPath: dest)
        chmod(dest, 0o755)
        return dest
    }
}
