import FoundationEssentials
import Glibc
import PluginProtocol

extension SandboxService {
    /// `response` with each output stream cut to `cap` bytes and flagged when it was longer (or when
    /// the plugin already cut it): whole-buffer exec never hands more than the cap to a front.
    static func capped(_ response: ExecResponse, at cap: Int64) -> ExecResponse {
        let limit = Int(clamping: max(0, cap))
        let out = response.stdout, err = response.stderr
        var result = ExecResponse(exitCode: response.exitCode, stdout: out.prefix(limit), stderr: err.prefix(limit),
                                  timedOut: response.timedOut)
        result.stdoutTruncated = out.count > limit || response.stdoutTruncated == true
        result.stderrTruncated = err.count > limit || response.stderrTruncated == true
        return result
    }
}
