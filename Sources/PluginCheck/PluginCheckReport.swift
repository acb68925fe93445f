import FoundationEssentials
import Glibc
import Basics
import PluginProtocol

/// How one rule of `plugin check` came out.
public enum RuleOutcome: String, Sendable, Equatable, CaseIterable {
    /// The plugin did what the rule demands.
    case pass
    /// The plugin broke the rule; the detail says how.
    case fail
    /// The rule does not apply (a capability not declared) or could not run; the detail says why.
    case skip
}

/// One rule's result: `pass  lifecycle.create  created tp-sbx-… in 3 ms`.
public struct RuleResult: Sendable, Equatable {
    public var outcome: RuleOutcome
    /// A stable id, e.g. `request.undeclared-capability` (docs/plugins.md lists them).
    public var rule: String
    /// One line: what was seen, or why it was skipped.
    public var detail: String

    public init(_ outcome: RuleOutcome, _ rule: String, _ detail: String) {
        self.outcome = outcome
        self.rule = rule
        self.detail = detail
    }

    /// Width the rule column is padded to in text output.
    static let ruleWidth = 32

    /// The text line: outcome, rule and detail in columns.
    public var line: String {
        let outcome = self.outcome.rawValue.paddedWithSpaces(toLength: 6)
        let rule = self.rule.count < Self.ruleWidth ? self.rule.paddedWithSpaces(toLength: Self.ruleWidth)
                                                    : self.rule + "  "
        return outcome + rule + detail
    }

    public var jsonValue: JSONValue {
        .object(["rule": .string(rule), "outcome": .string(outcome.rawValue), "detail": .string(detail)])
    }
}

/// Everything `plugin check` found about one library.
public struct PluginCheckReport: Sendable, Equatable {
    /// The path checked, as given.
    public var path: String
    /// The plugin's name, version and ABI from its table, once it loaded.
    public var plugin: (name: String, version: String, abi: String)?
    /// What `describe` declared (empty if it did not answer).
    public var capabilities: [String]
    /// Every rule in the order it ran.
    public var results: [RuleResult]

    public init(path: String, plugin: (name: String, version: String, abi: String)?, capabilities: [String], results: [RuleResult]) {
        self.path = path
        self.plugin = plugin
        self.capabilities = capabilities
        self.results = results
    }

    public static func == (lhs: PluginCheckReport, rhs: PluginCheckReport) -> Bool {
        lhs.path == rhs.path && lhs.plugin?.name == rhs.plugin?.name && lhs.plugin?.version == rhs.plugin?.version
            && lhs.plugin?.abi == rhs.plugin?.abi && lhs.capabilities == rhs.capabilities && lhs.results == rhs.results
    }

    /// True when no rule failed.
    public var passed: Bool { !results.contains { $0.outcome == .fail } }

    /// The result of `rule`, if it ran.
    public func result(_ rule: String) -> RuleResult? { results.first { $0.rule == rule } }

    /// How many rules had each outcome.
    public func count(_ outcome: RuleOutcome) -> Int { results.filter { $0.outcome == outcome }.count }

    /// One line for the end of a run: counts and the plugin's identity.
    public var summary: String {
        let who = plugin.map { "plugin \($0.name) \($0.version), ABI \($0.abi)" } ?? "the library did not load"
        return "plugin check \(path): \(count(.pass)) pass, \(count(.fail)) fail, \(count(.skip)) skip (\(who))"
    }

    /// The report as `--json` prints it.
    public var jsonValue: JSONValue {
        .object([
            "path": .string(path),
            "plugin": plugin.map { .object(["name": .string($0.name), "version": .string($0.version), "abi": .string($0.abi)]) } ?? .null,
            "capabilities": .array(capabilities.map { .string($0) }),
            "passed": .bool(passed),
            "counts": .object(Dictionary(uniqueKeysWithValues: RuleOutcome.allCases.map { ($0.rawValue, .number(Double(count($0)))) })),
            "rules": .array(results.map(\.jsonValue)),
        ])
    }
}
