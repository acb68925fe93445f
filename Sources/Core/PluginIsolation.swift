/// Where a backend's plugin runs: inside the host process, or in a plugin runner (a child process
/// of the host speaking framed JSON over a socketpair) whose crash fails only its own calls.
public enum PluginIsolation: String, Sendable, Equatable, CaseIterable {
    /// A plugin-runner child process per backend (docs/plugins.md, "Isolation").
    case process
    /// dlopen'ed into the host: cheapest, but a crash takes the host down.
    case inProcess = "in_process"
}
