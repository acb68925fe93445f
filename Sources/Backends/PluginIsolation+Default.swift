import FoundationEssentials
import Glibc
import Basics
import Core

extension PluginIsolation {
    /// The default for a plugin at `path`: `in_process` for the libraries built with this host (those
    /// that sit in the directory of the running executable), `process` for every other plugin.
    /// The built-in ones are our own tested code, and LocalVM's sandbox processes should not hang off
    /// a runner that may be restarted; the cost of a runner is measured by bench/plugin-ipc.sh.
    public static func `default`(forPlugin path: String, executable: String? = PluginIsolation.runningExecutable) -> PluginIsolation {
        guard let executable else { return .process }
        let pluginDir = (resolved(path)).deletingLastPathComponent
        let exeDir = (resolved(executable)).deletingLastPathComponent
        return pluginDir == exeDir ? .inProcess : .process
    }

    /// The running executable's path (`/proc/self/exe`), nil when it cannot be read.
    public static let runningExecutable: String? = {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    }()

    /// `path` with its symlinks resolved, or as given when it cannot be resolved.
    static func resolved(_ path: String) -> String {
        guard let real = realpath(path, nil) else { return path }
        defer { free(real) }
        return String(cString: real)
    }
}
