import Core
import YAMLSubset
import Basics
import PluginProtocol
/// The configuration used when neither `--config` nor `SANDBOXER_CONFIG` names a file. It is plain
/// YAML read by the same parser and validator as any file, so it can never drift from the format.
public enum DefaultConfig {
    /// What `Config.source` says for the embedded default.
    public static let source = "<embedded default>"

    /// The embedded file. `data_dir` is left out on purpose: it then defaults to `$SANDBOXER_HOME`,
    /// else `~/.local/share/sandboxer`; the plugin path resolves against the executable's directory.
    public static let yaml = """
        # sandboxer's built-in configuration.
        backends:
          localvm:
            plugin: libSandboxerLocalVM.so
        profiles:
          default:
            backend: localvm
            resources: {cpus: 1, memory: 512M, pids: 512}
            network: none
            ttl: {default: 1h, max: 24h}

        """
}
