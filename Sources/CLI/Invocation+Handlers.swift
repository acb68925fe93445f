import Foundation
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

extension Invocation {
    func create() throws(SandboxerError) -> Int32 {
        let service = try openService()
        let outcome = try service.create(CreateOptions(
            profile: parsed.value("profile"), ttl: parsed.value("ttl"),
            labels: try keyValues("label"), idempotencyKey: parsed.value("idempotency-key"),
            fromSnapshot: parsed.value("from-snapshot")))
        if json {
            var object = outcome.sandbox.jsonValue.objectValue ?? [:]
            object["ttl_capped"] = .bool(outcome.capped)
            object["requested_ttl"] = .string(DurationText.format(outcome.requestedTTLSeconds))
            emit(.object(object))
        } else {
            let s = outcome.sandbox
            console.print("\(s.id)\n")
            let from = s.sourceSnapshot.map { " from snapshot \($0)" } ?? ""
            console.err("created \(s.id)\(from) on \(s.backend) (profile \(s.profile)); expires \(s.expiresAt.map(RFC3339.format) ?? "-") (ttl \(DurationText.format(s.ttlSeconds)))\n")
            if outcome.capped {
                console.err("note: the requested ttl \(DurationText.format(outcome.requestedTTLSeconds)) was capped at the profile's max \(DurationText.format(s.maxTTLSeconds)).\n")
            }
        }
        return 0
    }

    func list() throws(SandboxerError) -> Int32 {
        var states: Set<SandboxState>? = nil
        for word in parsed.all("state") {
            if word == "live" { states = (states ?? []).union(SandboxState.live); continue }
            guard let s = SandboxState(rawValue: word) else {
                throw ParsedCommand.usage(parsed.spec, "Unknown state '\(word)' (states: \(SandboxState.allCases.map(\.rawValue).joined(separator: ", ")), live).")
            }
            states = (states ?? []).union([s])
        }
        if states == nil && !parsed.has("all") { states = Set(SandboxState.allCases.filter { !$0.isTerminal }) }
        let service = try openService()
        let rows = try service.list(SandboxFilter(states: states, backend: parsed.value("backend"),
                                                  profile: parsed.value("profile"), labels: try keyValues("label")))
        if json { emit(.array(rows.map(\.jsonValue))); return 0 }
        var table = Table("ID", "PROFILE", "BACKEND", "STATE", "TTL", "EXPIRES", "LABELS")
        for s in rows {
            table.add(s.id, s.profile, s.backend, s.state.rawValue, DurationText.format(s.ttlSeconds),
                      s.expiresAt.map(RFC3339.format) ?? "-",
                      s.labels.keys.sorted().map { "\($0)=\(s.labels[$0]!)" }.joined(separator: ","))
        }
        console.print(table.rendered)
        return 0
    }

    func show() throws(SandboxerError) -> Int32 {
        let s = try openService().get(parsed.arguments[0])
        if json { emit(s.jsonValue); return 0 }
        guard case .object(let fields) = s.jsonValue else { return 1 }
        var table = Table("FIELD", "VALUE")
        for key in fields.keys.sorted() {
            let value: String
            switch fields[key]! {
            case .string(let v): value = v
            case .null: value = "-"
            case .number(let n): value = String(Int64(n))
            case .object(let o):
                // Labels are strings; a backend's info may hold any JSON, shown compact.
                value = o.keys.sorted().map { key in
                    "\(key)=\(o[key]?.stringValue ?? o[key]!.rendered(pretty: false).trimmingCharacters(in: .newlines))"
                }.joined(separator: ",")
            default: value = fields[key]!.rendered(pretty: false).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            table.add(key, value)
        }
        console.print(table.rendered)
        return 0
    }

    func exec() throws(SandboxerError) -> Int32 {
        var timeout: Int64? = nil
        if let t = parsed.value("timeout") {
            do { timeout = try TTLDuration.parse(t).seconds } catch { throw SandboxerError(.usage, error.message) }
        }
        let stdin = parsed.has("stdin") ? FileHandle.standardInput.readDataToEndOfFile() : nil
        let service = try openService()
        let result = try service.exec(parsed.arguments[0], argv: parsed.command, stdin: stdin, env: try keyValues("env"),
                                      timeoutSeconds: timeout)
        if json {
            emit(.object(["exit_code": .number(Double(result.exitCode)), "timed_out": .bool(result.timedOut),
                          "stdout": .string(String(decoding: result.stdout, as: UTF8.self)),
                          "stderr": .string(String(decoding: result.stderr, as: UTF8.self))]))
        } else {
            console.out(result.stdout)
            console.err(String(decoding: result.stderr, as: UTF8.self))
            if result.timedOut { console.err("sandboxer: the command timed out and was killed.\n") }
        }
        return result.exitCode
    }

    func extend() throws(SandboxerError) -> Int32 {
        guard let duration = parsed.value("duration") else {
            throw ParsedCommand.usage(parsed.spec, "'extend-ttl' needs --duration, for example --duration 2h.")
        }
        let who = Self.cliActor()
        let outcome = try openService().extendTTL(parsed.arguments[0], duration: duration, by: who)
        if json {
            var object = outcome.sandbox.jsonValue.objectValue ?? [:]
            object["extended_from"] = .string(RFC3339.format(outcome.from))
            object["extended_to"] = .string(RFC3339.format(outcome.to))
            object["ttl_capped"] = .bool(outcome.capped)
            emit(.object(object))
        } else {
            console.print("\(outcome.sandbox.id) expires \(RFC3339.format(outcome.to)) (was \(RFC3339.format(outcome.from)))\n")
            if outcome.capped { console.err("note: capped at the profile's max lifetime \(DurationText.format(outcome.sandbox.maxTTLSeconds)).\n") }
        }
        if let warning = outcome.backstopWarning { console.err("warning: \(warning)\n") }
        return 0
    }

    func destroy() throws(SandboxerError) -> Int32 {
        let s = try openService().destroy(parsed.arguments[0])
        if json { emit(s.jsonValue) } else { console.print("\(s.id) \(s.state.rawValue) (\(s.reason?.rawValue ?? "manual"))\n") }
        return 0
    }
}
