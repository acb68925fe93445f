import Foundation
import Testing
import PluginABI
@testable import PluginProtocol
@testable import Backends

/// The ABI's numbers (result codes, log levels) have one definition, the header; the Swift types take
/// their raw values from its constants, and every constant the header declares has its Swift case.
@Suite struct PluginABICodeTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The enumerators of `typedef enum NAME { … } NAME;` in the header, name → value.
    static func headerEnum(_ name: String) throws -> [String: Int32] {
        let header = try String(contentsOf: repo.appendingPathComponent("Sources/PluginABI/include/sandboxer_plugin.h"),
                                encoding: .utf8)
        let body = try #require(header.components(separatedBy: "typedef enum \(name) {").dropFirst().first?
            .components(separatedBy: "} \(name);").first)
        let enumerator = try NSRegularExpression(pattern: #"^\s*(SBX_[A-Z_]+) = (\d+)"#, options: .anchorsMatchLines)
        var found: [String: Int32] = [:]
        for m in enumerator.matches(in: body, range: NSRange(body.startIndex..., in: body)) {
            guard let n = Range(m.range(at: 1), in: body), let v = Range(m.range(at: 2), in: body) else { continue }
            found[String(body[n])] = Int32(body[v])
        }
        return found
    }

    @Test func everySbxCodeHasOneSwiftCode() throws {
        let header = try Self.headerEnum("sbx_code")
        #expect(header["SBX_OK"] == PluginError.successCode)
        #expect(PluginError.Code(rawValue: PluginError.successCode) == nil)
        let failures = header.filter { $0.key != "SBX_OK" }
        #expect(failures.count >= 7, "the header parse found too little: \(header)")
        #expect(Set(PluginError.Code.allCases.map(\.rawValue)) == Set(failures.values))
        for (name, value) in failures {
            let code = try #require(PluginError.Code(rawValue: value), "\(name) has no PluginError.Code")
            #expect(code.rawValue == value)
            #expect(code.description == name.dropFirst("SBX_".count).lowercased())
            #expect(BackendError.Code(abiCode: value) == BackendError.Code(code))
            #expect(BackendError.Code(code).rawValue == code.description)
        }
        // Outside the closed list: no code (the host reports the plugin as broken).
        #expect(PluginError.Code(rawValue: 42) == nil && BackendError.Code(abiCode: 42) == nil && BackendError.Code(abiCode: -1) == nil)
        #expect(PluginError.Code.invalidRequest.rawValue == Int32(SBX_INVALID_REQUEST.rawValue))
    }

    @Test func everyLogLevelHasOneSwiftLevel() throws {
        let header = try Self.headerEnum("sbx_log_level")
        #expect(header.count == PluginLogLevel.allCases.count && header.count >= 4, "\(header)")
        for (name, value) in header {
            let level = try #require(PluginLogLevel(rawValue: value), "\(name) has no PluginLogLevel")
            #expect("\(level)" == name.dropFirst("SBX_LOG_".count).lowercased())
        }
        #expect(PluginLogLevel.allCases.sorted() == [.debug, .info, .warning, .error])
        #expect(PluginLogLevel(rawValue: 9) == nil)
    }

    /// Capability strings are spelled once, in `Capability`; code elsewhere names them through it.
    @Test func capabilityStringsAreSpelledOnce() throws {
        let literal = try NSRegularExpression(pattern: #""sandboxer\.[a-z]+/[0-9]+""#)
        var found: [String] = []
        for dir in ["Sources", "Plugins/LocalVM", "Tests/Fixtures/TestPlugin"] {
            let root = Self.repo.appendingPathComponent(dir)
            guard let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { continue }
            for case let url as URL in files where url.pathExtension == "swift" && url.lastPathComponent != "Messages.swift" {
                let text = try String(contentsOf: url, encoding: .utf8)
                for line in text.components(separatedBy: "\n") where !line.trimmingCharacters(in: .whitespaces).hasPrefix("//")
                    && literal.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)) != nil {
                    found.append("\(url.lastPathComponent): \(line.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
        #expect(found.isEmpty, "capability literals outside Capability: \(found)")
    }
}
