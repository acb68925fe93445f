import Foundation
import Glibc
import PluginKit
import Synchronization

/// A builder plugin (`sandboxer.build/1`) that runs the real `packer build -machine-readable`.
///
/// It implements only `build` (and `describe`): a builder-only library declares no lifecycle.
/// Every build runs packer in a private work dir with a private HOME and TMPDIR, an environment of
/// its own (nothing of the host's but PATH), and the host's vars as `-var`s; progress lines go to
/// the host's log as they come, the full log to a capped file, and cancellation stops packer's
/// whole process group. Artifacts are the files the template leaves in `output_dir`.
public final class PackerPlugin: SandboxerPlugin {
    public static let name = "packer"
    public static let version = "0.1.0"
    public static let capabilities = [Capability.build]

    let config: PackerConfig
    let host: PluginHost
    /// `packer version`, learnt on first use (it runs packer, so not at load).
    private let packerVersionCache = Mutex<Result<String, PluginError>?>(nil)

    public init(config: JSONValue, host: PluginHost) throws(PluginError) {
        self.config = try PackerConfig(config)
        self.host = host
    }

    /// `describe`'s `info`: the packer binary and its version, which the host folds into its cache
    /// key; `packer_error` (one line) instead of the version when packer cannot run.
    public var describeInfo: [String: JSONValue] {
        var info: [String: JSONValue] = ["packer_path": .string(config.packerPath)]
        switch packerVersion() {
        case .success(let v): info["packer_version"] = .string(v)
        case .failure(let e): info["packer_error"] = .string(e.message)
        }
        return info
    }

    /// The installed packer's version (`1.6.6`), or why it cannot run.
    func packerVersion() -> Result<String, PluginError> {
        if let known = packerVersionCache.withLock({ $0 }) { return known }
        let result = Self.readVersion(packer: config.packerPath, environment: environment(home: "/nonexistent", tmp: NSTemporaryDirectory()))
        packerVersionCache.withLock { $0 = result }
        return result
    }

    /// Runs `packer version` and reads `Packer v1.6.6`.
    static func readVersion(packer: String, environment: [String: String]) -> Result<String, PluginError> {
        guard access(packer, X_OK) == 0 else {
            return .failure(PluginError(.unavailable, "packer is not installed at \(packer): install the Debian package packer or set packer_path in the builder's config."))
        }
        let process: GroupProcess
        do {
            process = try GroupProcess(executable: packer, arguments: ["version"], environment: environment, directory: "/")
        } catch { return .failure(error) }
        var lines: [String] = []
        let deadline = GroupProcess.monotonic() + 30
        while !process.drained || process.poll() == nil {
            for l in process.readLines(timeoutMs: 100) where lines.count < 64 { lines.append(String(l)) }
            if GroupProcess.monotonic() > deadline { process.stop(grace: 0); break }
        }
        for line in lines {
            if let r = line.range(of: "Packer v") {
                let v = line[r.upperBound...].prefix { !$0.isWhitespace }
                if !v.isEmpty { return .success(String(v)) }
            }
        }
        return .failure(PluginError(.unavailable, "\(packer) version did not print a version (\(lines.first ?? "no output")); is it packer?"))
    }

    /// The whole environment packer runs with: nothing of the host's but PATH, so no host secret
    /// or token reaches a template by accident; HOME and TMPDIR private to the build.
    func environment(home: String, tmp: String) -> [String: String] {
        [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
            "HOME": home,
            "TMPDIR": tmp,
            "PACKER_CONFIG_DIR": home,
            "PACKER_CACHE_DIR": home + "/cache",
            // No phoning home for update checks (and no network at all from packer itself).
            "CHECKPOINT_DISABLE": "1",
            "PACKER_NO_COLOR": "1",
            "LANG": "C.UTF-8",
        ]
    }
}
