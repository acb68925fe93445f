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
    static let commands: [CommandSpec] = [
        CommandSpec(name: "create", summary: "Create a sandbox from a profile.",
                    options: [.init(name: "profile", value: "NAME", help: "Profile to create from (default: default)."),
                              .init(name: "ttl", value: "DURATION", help: "Time to live, e.g. 30m, 4h, 1d (default: the profile's; capped at its max)."),
                              .init(name: "label", value: "KEY=VALUE", repeatable: true, help: "Label the sandbox (repeatable)."),
                              .init(name: "idempotency-key", value: "KEY", help: "A retried create with the same key returns the same sandbox."),
                              .init(name: "from-snapshot", value: "SNAP", help: "Start from this snapshot's state (id or name; default profile: the snapshot's).")],
                    discussion: "The TTL starts when the sandbox is ready: expires_at = ready_at + ttl."),
        CommandSpec(name: "list", summary: "List sandboxes.",
                    options: [.init(name: "state", value: "STATE", repeatable: true, help: "Only this state (repeatable; 'live' = ready and active)."),
                              .init(name: "backend", value: "NAME", help: "Only this backend."),
                              .init(name: "profile", value: "NAME", help: "Only this profile."),
                              .init(name: "label", value: "KEY=VALUE", repeatable: true, help: "Only sandboxes with this label (repeatable)."),
                              .init(name: "all", help: "Include destroyed and failed sandboxes (default: hidden unless --state names them).")]),
        CommandSpec(name: "show", summary: "Show one sandbox.", arguments: ["ID"]),
        CommandSpec(name: "explain", summary: "Explain why a sandbox is still alive, or why and when it ends (or ended).",
                    arguments: ["ID"],
                    discussion: "Its ttl (granted, requested, capped), the cap (ready_at + max), last activity, idle_reap, the\nexpiry warning, the rule that fires first and when, on_expire; for ended sandboxes the reason and\nthe event that recorded it. See docs/ttl.md."),
        CommandSpec(name: "exec", summary: "Run a command in a sandbox; exits with the command's exit code.", arguments: ["ID"],
                    takesCommand: true,
                    options: [.init(name: "timeout", value: "DURATION", help: "Kill the command after this long."),
                              .init(name: "env", value: "KEY=VALUE", repeatable: true, help: "Set an environment variable (repeatable)."),
                              .init(name: "stdin", help: "Pass this process's standard input to the command.")],
                    discussion: "The command's stdout and stderr are printed as they came; with --json, one object holds both."),
        CommandSpec(name: "extend-ttl", summary: "Extend a sandbox's time to live.", arguments: ["ID"],
                    options: [.init(name: "duration", value: "DURATION", help: "How much longer, e.g. 2h (required).")],
                    discussion: "Adds to the current expires_at (or to now, if that is past); the total lifetime from ready_at never exceeds the profile's max."),
        CommandSpec(name: "destroy", summary: "Destroy a sandbox (idempotent).", arguments: ["ID"]),
        CommandSpec(name: "snapshot", summary: "Snapshot a sandbox's writable state.", arguments: ["ID"],
                    options: [.init(name: "name", value: "NAME", help: "Name the snapshot (1-63 of a-z A-Z 0-9 . _ -).")],
                    discussion: "The sandbox keeps running; its processes are paused while the state is captured.\nPrints the snapshot id."),
        CommandSpec(name: "snapshots", summary: "List snapshots, newest first.", arguments: ["ID?"],
                    options: [.init(name: "all", help: "Include deleted and failed snapshots.")]),
        CommandSpec(name: "snapshot-rm", summary: "Delete a snapshot (idempotent).", arguments: ["SNAP"]),
        CommandSpec(name: "recreate", summary: "Replace a sandbox's backend instance, keeping its id, labels and TTL.", arguments: ["ID"],
                    options: [.init(name: "from-snapshot", value: "SNAP", help: "Restore this snapshot (id or name) instead of starting fresh.")],
                    discussion: "ready_at and expires_at do not change; the idle clock restarts.\nThe old instance is destroyed first; if the new one cannot be made, the sandbox ends failed."),
        CommandSpec(name: "prune-snapshots", summary: "Plan (default) or apply snapshot retention.",
                    options: [.init(name: "apply", help: "Delete the snapshots the plan lists.")],
                    discussion: "Per sandbox, profile 'snapshots: {keep: N, max_age: D}' keeps the newest N and drops any older than D."),
        CommandSpec(name: "expire", summary: "Plan (default) or apply the expiry sweep.",
                    options: [.init(name: "apply", help: "Mark each due sandbox expired and destroy it (snapshot it first with on_expire: snapshot); send due expiry_warning events.")],
                    discussion: "Due: past expires_at (rule ttl, or ttl_max when the cap was reached), or idle past updated_at + idle_reap (rule idle)."),
        CommandSpec(name: "reap-stale", summary: "Compare backend inventory with the store; plan (default) or apply the clean-up.",
                    options: [.init(name: "apply", help: "Destroy orphans and mark ghosts failed.")],
                    discussion: "Orphans: resources labelled with this host's id that the store does not know as live.\nGhosts: live sandboxes whose resource is gone (marked failed, reason backend_vanished).\nCreates still in flight are left alone."),
        CommandSpec(name: "backends", summary: "List the enabled backends and their plugins."),
        CommandSpec(name: "profiles", summary: "List the profiles."),
        CommandSpec(name: "plugin", summary: "Check a plugin library against the plugin ABI (plugin check PATH.so).",
                    arguments: ["check", "PATH.so"],
                    options: [.init(name: "config", value: "JSON", help: "The backend config handed to the plugin: JSON text, or @FILE (default: {}).")],
                    discussion: "Loads the library as the host does and runs every rule of the ABI a program can check, one line\nper rule: pass|fail|skip, the rule, a detail (docs/plugins.md, \"Checking a plugin\"). It makes and\ndestroys real sandboxes when the plugin declares sandboxer.lifecycle/1. Exit 0 when no rule fails,\n1 when one does, 2 on usage."),
        CommandSpec(name: "events", summary: "List lifecycle events, oldest first.", arguments: ["ID?"],
                    options: [.init(name: "since", value: "SEQ", help: "Only events after this sequence number."),
                              .init(name: "limit", value: "N", help: "At most N events."),
                              .init(name: "follow", help: "Keep printing new events as they are appended, until interrupted."),
                              .init(name: "failed", help: "List webhook deliveries that failed every attempt instead (as webhook-failures)."),
                              .init(name: "sink", value: "NAME", help: "With --failed: only this webhook sink.")],
                    discussion: "With --follow and --json, one JSON object per line (JSON Lines). SIGINT, SIGTERM or a closed\nstandard output end it with exit 0. See docs/events.md."),
        CommandSpec(name: "webhook-failures", summary: "List webhook deliveries that failed every attempt (dead letters), or requeue them.",
                    options: [.init(name: "sink", value: "NAME", help: "Only this webhook sink."),
                              .init(name: "retry", help: "Requeue them: a running 'serve' sends each again, with a fresh set of attempts.")],
                    discussion: "A delivery is dead after its sink's max_attempts failed attempts (see docs/webhooks.md).\nThe same list: GET /v1/events/failed (operator)."),
        CommandSpec(name: "serve", summary: "Serve the HTTP API and run the expiry sweep on a timer.",
                    options: [.init(name: "listen", value: "ADDR", help: "HOST:PORT or unix:/path (default: server.listen, else 127.0.0.1:8080)."),
                              .init(name: "sweep-interval", value: "DURATION", help: "How often to run 'expire --apply' (default: server.sweep_interval, else 30s).")],
                    discussion: "Reconciles interrupted work first. With no API tokens configured it listens on loopback only.\nEach sweep also applies snapshot retention; configured webhook sinks are delivered continuously.\nSIGTERM or SIGINT: stop accepting, finish in-flight requests, exit 0."),
        CommandSpec(name: "token-hash", summary: "Read an API token on stdin and print the SHA-256 to put in server.tokens."),
        CommandSpec(name: "version", summary: "Print the version."),
    ]

    static let version = SandboxerVersion.current

    static var overview: String {
        let width = commands.map(\.name.count).max() ?? 0
        var lines = ["sandboxer \(version): disposable sandboxes on pluggable backends, with one TTL model.", "",
                     "Usage: sandboxer COMMAND [OPTIONS]", "", "Commands:"]
        for c in commands { lines.append("  " + c.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + c.summary) }
        lines += ["", "Every command takes --help, --json and --config FILE.",
                  "Exit codes: 0 ok, 1 failure, 2 usage, 3 a backend refused or failed, 4 a backend is unavailable",
                  "(retry later); exec exits with the command's own code. Data: $SANDBOXER_HOME (default ~/.local/share/sandboxer)."]
        return lines.joined(separator: "\n") + "\n"
    }
}
