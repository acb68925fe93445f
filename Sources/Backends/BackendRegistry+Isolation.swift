import Dispatch
import Core

extension BackendRegistry {
    /// Where the backend's plugin runs: its `isolation:`, else the default for the plugin's location.
    public func isolation(of entry: BackendConfig) -> PluginIsolation {
        entry.isolation ?? PluginIsolation.default(forPlugin: entry.plugin)
    }

    /// Shutdown: cancels the calls in flight on every plugin runner, gives them the runner's
    /// `shutdownGrace` to return, then stops the runners. In-process backends are left alone.
    public func stopRunners() {
        let runners = loadedBackends().compactMap { $0 as? Backend }.filter { $0.isolation == .process }
        // Side by side: each may wait out its grace.
        DispatchQueue.concurrentPerform(iterations: runners.count) { runners[$0].stopRunner() }
    }
}
