import FoundationEssentials
import Glibc
import Core
import PluginProtocol

// Backends whose plugin runs in a plugin runner (`isolation: process`).
extension Backend {
    /// A backend on a plugin runner for `path`: the instance is created in the runner, then
    /// `describe` runs through it exactly as `LoadedPlugin.makeBackend` does in process.
    static func isolated(name: String, path: String, config: JSONValue, callTimeout: Double, deadlines: BackendDeadlines,
                         maxResponseBytes: Int, context: PluginHostContext,
                         runner: PluginRunnerSettings) throws(PluginLoadError) -> Backend {
        let channel = try RemotePluginChannel.start(path: path, backend: name, config: config, maxResponseBytes: maxResponseBytes,
                                                    context: context, settings: runner)
        let described: DescribeResponse
        do throws(BackendError) {
            let timeout = deadlines.resolve(Operation.describe, requested: callTimeout)
            described = try Backend.decode(DescribeResponse.self, channel.call(Operation.describe, Data("{}".utf8), timeout: timeout),
                                           backend: name, operation: Operation.describe)
        } catch {
            channel.stop()
            let p = channel.plugin
            throw PluginLoadError(.instanceFailed, "Cannot create backend '\(name)' from plugin \(path) (plugin \(p.name) \(p.version), ABI \(p.abiMajor).\(p.abiMinor)): describe failed (\(error.code.rawValue)): \(error.message)")
        }
        return Backend(name: name, instance: channel, capabilities: described.capabilities, defaultTimeout: callTimeout,
                       deadlines: deadlines)
    }

    /// Where this backend's plugin runs.
    public var isolation: PluginIsolation { instance is RemotePluginChannel ? .process : .inProcess }

    /// The pid of this backend's plugin runner, nil in process or while none runs.
    package var runnerProcessID: pid_t? { (instance as? RemotePluginChannel)?.runnerProcessID }

    /// Waits up to `seconds` until this backend's runner (if any) has exited and been reaped.
    package func waitRunnerGone(_ seconds: Double) -> Bool {
        (instance as? RemotePluginChannel)?.waitRunnerGone(seconds) ?? true
    }

    /// Cancels this backend's calls in flight and stops its plugin runner (shutdown); no-op in process.
    public func stopRunner() {
        (instance as? RemotePluginChannel)?.stop()
    }
}
