import PluginKit

/// What one `packer build -machine-readable` run has said so far: the step it is on, its errors and
/// the files its artifact lines name. A state machine fed one output line at a time; it does no
/// I/O, and each line's `Action` tells the owner what to log.
public struct BuildProgress: Sendable, Equatable {
    /// What the owner does with one line.
    public enum Action: Sendable, Equatable {
        /// A progress line: write it to the build log and send it to the host's log at `level`.
        case progress(PluginLogLevel, String)
        /// Only for the build log (artifact details, counts, packer's own bookkeeping).
        case record(String)
        /// Nothing to keep (an empty line).
        case ignore
    }

    /// The last step packer announced (`Running local shell script: …`), without the `==> null: `.
    public private(set) var step: String?
    /// Error texts, in order: the build's own (`null,error,…`) and packer's (`ui,error`).
    public private(set) var buildErrors: [String] = []
    public private(set) var uiErrors: [String] = []
    /// Files named by `artifact,N,file,I,PATH` lines, in order.
    public private(set) var artifactFiles: [String] = []
    /// Lines that were not machine-readable output (packer crashing, a tool writing to the terminal).
    public private(set) var plainLines = 0

    /// Caps on what is remembered, so endless output cannot grow the state without bound.
    public static let maxRemembered = 256

    public init() {}

    /// Feeds one output line (without its newline).
    public mutating func consume(_ raw: Substring) -> Action {
        guard let line = PackerLine.parse(raw) else {
            let text = String(raw).trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty else { return .ignore }
            plainLines += 1
            return .progress(.info, text)
        }
        switch line.type {
        case "ui":
            let kind = line.data.first ?? "message"
            let text = line.data.dropFirst().joined(separator: ",").trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else { return .ignore }
            if kind == "error" {
                Self.remember(text, in: &uiErrors)
                return .progress(.warning, text)
            }
            if kind == "say", let announced = Self.stepName(text) { step = announced }
            return .progress(.info, text)
        case "error":
            let text = line.data.joined(separator: ",").trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty { Self.remember(text, in: &buildErrors) }
            return .record("\(line.target) error: \(text)")
        case "artifact":
            // artifact,N,file,I,PATH
            if line.data.count >= 4, line.data[1] == "file", !line.data[3].isEmpty {
                Self.remember(line.data[3], in: &artifactFiles)
            }
            return .record("\(line.target) artifact \(line.data.joined(separator: " "))")
        default:
            return .record("\(line.target.isEmpty ? "packer" : line.target) \(line.type) \(line.data.joined(separator: " "))")
        }
    }

    /// The step a `say` line announces: `==> null: Running local shell script: /x` → `Running local shell script: /x`.
    static func stepName(_ text: String) -> String? {
        guard text.hasPrefix("==> ") else { return nil }
        let body = text.dropFirst(4)
        guard let colon = body.range(of: ": ") else { return nil }
        let name = body[colon.upperBound...].trimmingCharacters(in: .whitespaces)
        // Packer's closing summaries are not steps.
        if name.isEmpty || name.hasPrefix("Provisioning step had errors") || body.hasPrefix("Wait completed") || body.hasPrefix("Builds finished") || body.hasPrefix("Some builds") {
            return nil
        }
        return name
    }

    /// The most telling error: the build's own error, else packer's last, else nil.
    public var mainError: String? {
        let text = buildErrors.first ?? uiErrors.last(where: { !$0.hasPrefix("==>") && !$0.hasPrefix("-->") }) ?? uiErrors.last
        return text.map { $0.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: " ") }
    }

    static func remember(_ text: String, in list: inout [String]) {
        if list.count < Self.maxRemembered { list.append(String(text.prefix(4096))) }
    }
}
