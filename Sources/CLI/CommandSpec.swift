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
/// One command of the CLI: its name, help, options and positional arguments.
struct CommandSpec: Sendable {
    /// One `--name [VALUE]` option.
    struct Option: Sendable {
        var name: String
        var value: String?        // the value's placeholder, nil for a flag
        var repeatable = false
        var help: String
    }

    var name: String
    var summary: String
    /// Positional arguments, e.g. ["ID"]; a trailing "?" marks one optional.
    var arguments: [String] = []
    /// Whether everything after `--` is taken as a command to run.
    var takesCommand = false
    var options: [Option] = []
    /// Extra paragraphs for --help.
    var discussion: String = ""

    /// Options every command accepts.
    static let globalOptions: [Option] = [
        Option(name: "config", value: "FILE", help: "Config file (default: $SANDBOXER_CONFIG, else the embedded default)."),
        Option(name: "json", help: "Print JSON instead of a table."),
        Option(name: "verbose", help: "Also print plugins' info and debug log lines (as SANDBOXER_LOG=debug)."),
        Option(name: "help", help: "Show this help."),
    ]

    var usageLine: String {
        var parts = ["sandboxer", name]
        for o in options { parts.append(o.value.map { "[--\(o.name) \($0)]" + (o.repeatable ? "…" : "") } ?? "[--\(o.name)]") }
        for a in arguments { parts.append(a.hasSuffix("?") ? "[\(a.dropLast())]" : a) }
        if takesCommand { parts.append("-- COMMAND [ARG…]") }
        return parts.joined(separator: " ")
    }

    /// The full --help text.
    var help: String {
        var lines = ["\(summary)", "", "Usage: \(usageLine)"]
        if !discussion.isEmpty { lines += ["", discussion] }
        lines += ["", "Options:"]
        // A command's own option of a global option's name (plugin check's --config) replaces it.
        let all = options + Self.globalOptions.filter { global in !options.contains { $0.name == global.name } }
        let width = all.map { optionLabel($0).count }.max() ?? 0
        for o in all {
            lines.append("  " + optionLabel(o).paddedWithSpaces(toLength: width + 2) + o.help)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func optionLabel(_ o: Option) -> String { o.value.map { "--\(o.name) \($0)" } ?? "--\(o.name)" }
}

/// A command line split into its command, options and arguments, checked against a spec.
struct ParsedCommand: Sendable {
    var spec: CommandSpec
    var values: [String: [String]] = [:]
    var flags: Set<String> = []
    var arguments: [String] = []
    /// The words after `--`.
    var command: [String] = []

    func value(_ name: String) -> String? { values[name]?.last }
    func all(_ name: String) -> [String] { values[name] ?? [] }
    func has(_ name: String) -> Bool { flags.contains(name) }

    /// Parses `words` (without the command name) for `spec`.
    static func parse(_ words: [String], spec: CommandSpec) throws(SandboxerError) -> ParsedCommand {
        var parsed = ParsedCommand(spec: spec)
        let options = spec.options + CommandSpec.globalOptions
        var i = 0
        while i < words.count {
            let word = words[i]
            if word == "--" {
                guard spec.takesCommand else { throw usage(spec, "'\(spec.name)' takes no command after '--'.") }
                parsed.command = Array(words[(i + 1)...])
                break
            }
            if word == "-h" { parsed.flags.insert("help"); i += 1; continue }
            if word.hasPrefix("--") {
                var name = String(word.dropFirst(2))
                var inline: String? = nil
                if let eq = name.firstIndex(of: "=") {
                    inline = String(name[name.index(after: eq)...])
                    name = String(name[..<eq])
                }
                guard let option = options.first(where: { $0.name == name }) else {
                    throw usage(spec, "Unknown option '--\(name)' for '\(spec.name)'.")
                }
                if option.value == nil {
                    guard inline == nil else { throw usage(spec, "The option '--\(name)' takes no value.") }
                    parsed.flags.insert(name)
                } else {
                    let value: String
                    if let inline { value = inline } else {
                        guard i + 1 < words.count else { throw usage(spec, "The option '--\(name)' needs a value (\(option.value!)).") }
                        i += 1
                        value = words[i]
                    }
                    if !option.repeatable, parsed.values[name] != nil {
                        throw usage(spec, "The option '--\(name)' was given more than once.")
                    }
                    parsed.values[name, default: []].append(value)
                }
            } else if word.hasPrefix("-") && word.count > 1 {
                throw usage(spec, "Unknown option '\(word)' for '\(spec.name)'.")
            } else {
                parsed.arguments.append(word)
            }
            i += 1
        }
        if parsed.has("help") { return parsed }
        let required = spec.arguments.filter { !$0.hasSuffix("?") }.count
        if parsed.arguments.count < required {
            throw usage(spec, "'\(spec.name)' needs \(spec.arguments.filter { !$0.hasSuffix("?") }.joined(separator: " ")).")
        }
        if parsed.arguments.count > spec.arguments.count {
            throw usage(spec, "Unexpected argument '\(parsed.arguments[spec.arguments.count])' for '\(spec.name)'.")
        }
        if spec.takesCommand && parsed.command.isEmpty {
            throw usage(spec, "'\(spec.name)' needs a command after '--', for example: sandboxer \(spec.name) ID -- uname -a")
        }
        return parsed
    }

    static func usage(_ spec: CommandSpec, _ message: String) -> SandboxerError {
        SandboxerError(.usage, "\(message) See 'sandboxer \(spec.name) --help'.")
    }
}
