import API
import Lifecycle
import Webhooks
import Store
import Config
import Core
import Backends
import HTTPServer
import Basics
import PluginProtocol
extension CLI {
    /// Every command, in the order `sandboxer --help` lists them.
    // `let` of metatypes: immutable, and every command type is a stateless struct.
    nonisolated(unsafe) static let commands: [any Command.Type] = [
        CreateCommand.self, ListCommand.self, ShowCommand.self, ExplainCommand.self, ExecCommand.self,
        ReachCommand.self, PortForwardCommand.self,
        ExtendTtlCommand.self, DestroyCommand.self, SnapshotCommand.self, SnapshotsCommand.self, SnapshotRmCommand.self,
        RecreateCommand.self, PruneSnapshotsCommand.self, ExpireCommand.self, ReapStaleCommand.self, PruneEventsCommand.self, BackendsCommand.self,
        ProfilesCommand.self, PluginCommand.self, EventsCommand.self, WebhookFailuresCommand.self, ServeCommand.self, TokenHashCommand.self,
        VersionCommand.self,
        BuildCommand.self, ImagesCommand.self, ImageRmCommand.self, PruneImagesCommand.self,
    ]

    static let version = SandboxerVersion.current

    static var overview: String {
        let width = commands.map { $0.spec.name.count }.max() ?? 0
        var lines = ["sandboxer \(version): disposable sandboxes on pluggable backends, with one TTL model.", "",
                     "Usage: sandboxer COMMAND [OPTIONS]", "", "Commands:"]
        for c in commands.map({ $0.spec }) { lines.append("  " + c.name.paddedWithSpaces(toLength: width + 2) + c.summary) }
        lines += ["", "Every command takes --help, --json, --verbose and --config FILE (before or after the command).",
                  "Exit codes: 0 ok, 1 failure, 2 usage, 3 a backend refused or failed, 4 a backend is unavailable",
                  "(retry later); exec exits with the command's own code. Data: $SANDBOXER_HOME (default ~/.local/share/sandboxer)."]
        return lines.joined(separator: "\n") + "\n"
    }
}
