import PluginKit
import Testing
@testable import Packer

@Suite("what a packer run said")
struct BuildProgressTests {
    /// The output of a real packer 1.6.6 run whose shell-local provisioner exits 1.
    static let failedRun = """
    1796038571,,ui,say,==> null: Running local shell script: /tmp/packer-shell1302822209
    1796038571,,ui,message,    null: step one
    1796038571,,ui,say,==> null: Provisioning step had errors: Running the cleanup provisioner%!(PACKER_COMMA) if present...
    1796038571,,ui,error,Build 'null' errored after 24 milliseconds 93 microseconds: Script exited with non-zero exit status: 1.Allowed exit codes are: [0]
    1796038571,,ui,say,\\n==> Wait completed after 24 milliseconds 178 microseconds
    1796038571,,error-count,1
    1796038571,,ui,error,\\n==> Some builds didn't complete successfully and had errors:
    1796038571,null,error,Script exited with non-zero exit status: 1.Allowed exit codes are: [0]
    1796038571,,ui,error,--> null: Script exited with non-zero exit status: 1.Allowed exit codes are: [0]
    1796038571,,ui,say,\\n==> Builds finished but no artifacts were created.
    """

    @Test("a failed run names the step that failed and the build's own error")
    func failedStep() {
        var p = BuildProgress()
        var actions: [BuildProgress.Action] = []
        for line in Self.failedRun.split(separator: "\n") { actions.append(p.consume(line)) }
        #expect(p.step == "Running local shell script: /tmp/packer-shell1302822209")
        #expect(p.mainError == "Script exited with non-zero exit status: 1.Allowed exit codes are: [0]")
        #expect(actions[1] == .progress(.info, "null: step one"))
        #expect(actions[3] == .progress(.warning, "Build 'null' errored after 24 milliseconds 93 microseconds: Script exited with non-zero exit status: 1.Allowed exit codes are: [0]"))
        #expect(actions[5] == .record("packer error-count 1"))
        let message = PackerPlugin.failure(p, outcome: .exited(1), logPath: "/d/logs/b.log")
        #expect(message == "packer build failed at step 'Running local shell script: /tmp/packer-shell1302822209' (packer exited with 1): Script exited with non-zero exit status: 1.Allowed exit codes are: [0] (log: /d/logs/b.log).")
    }

    @Test("a template that does not parse: packer's error on one line, no step")
    func templateError() {
        var p = BuildProgress()
        _ = p.consume(#"1796038572,,ui,error,Failed to parse template: Error parsing JSON: invalid character 'b'\nAt line 1%!(PACKER_COMMA) column 2 (offset 2):\n    1: {b\n       ^\n"#)
        #expect(p.step == nil)
        #expect(p.mainError == "Failed to parse template: Error parsing JSON: invalid character 'b' At line 1, column 2 (offset 2): 1: {b ^")
    }

    @Test("artifact file lines are collected; plain text is progress")
    func artifactsAndPlain() {
        var p = BuildProgress()
        _ = p.consume("1,null,artifact-count,1")
        _ = p.consume("1,null,artifact,0,files-count,2")
        _ = p.consume("1,null,artifact,0,file,0,out/a.qcow2")
        _ = p.consume("1,null,artifact,0,file,1,/abs/b%!(PACKER_COMMA)c.tar")
        #expect(p.artifactFiles == ["out/a.qcow2", "/abs/b,c.tar"])
        #expect(p.consume("panic: boom") == .progress(.info, "panic: boom"))
        #expect(p.consume("   ") == .ignore)
        #expect(p.plainLines == 1)
    }
}
