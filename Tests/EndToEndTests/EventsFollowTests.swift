import Foundation
import Basics
import Core
import Store
import CLI
import Synchronization
import Testing

/// `events --follow`, `explain`, expiry warnings and the recorded actor, through the built binary
/// on the file-backed test plugin. Needs no root.
@Suite struct EventsFollowTests {
    func fake() throws -> CLIRunner {
        try CLIRunner.onFakeBackend(profiles: """
              default:
                backend: fake
                ttl: {default: 1h, max: 4h}
              warned:
                backend: fake
                ttl: {default: 1h, max: 2h, expiry_warning: 10m}
            """)
    }

    func create(_ cli: CLIRunner, _ args: [String] = []) throws -> String {
        let r = try cli.run(["create", "--json"] + args)
        #expect(r.status == 0, "\(r.stderr)")
        return try #require(try r.object()["id"] as? String)
    }

    /// Lines of a pipe, read on their own thread; `next` waits for one with a deadline.
    final class LineReader: Sendable {
        private let lines = Mutex<(items: [String], taken: Int)>(([], 0))
        private let arrived = DispatchSemaphore(value: 0)

        init(_ handle: FileHandle) {
            Thread.detachNewThread { [self] in
                var buffer = Data()
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    buffer += chunk
                    while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                        let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                        buffer = Data(buffer[buffer.index(after: newline)...])
                        lines.withLock { $0.items.append(line) }
                        arrived.signal()
                    }
                }
            }
        }

        /// The next line, or nil if none came within `seconds`.
        func next(_ seconds: Double = 20) -> String? {
            guard arrived.wait(timeout: .now() + seconds) == .success else { return nil }
            return lines.withLock { state in
                defer { state.taken += 1 }
                return state.items[state.taken]
            }
        }

        /// Reads lines until `count` JSON events of `id` arrived; returns their types.
        func events(of id: String, count: Int) throws -> [String] {
            var types: [String] = []
            while types.count < count {
                let line = try #require(next(), "no event line within 20 s (had \(types))")
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
                if object["sandbox_id"] as? String == id { types.append(try #require(object["type"] as? String)) }
            }
            return types
        }
    }

    /// Waits for `process` to exit, killing it after `seconds`; its exit status, or nil on timeout.
    func exitStatus(_ process: Process, within seconds: Double = 20) -> Int32? {
        let exited = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            process.waitUntilExit()
            exited.signal()
        }
        guard exited.wait(timeout: .now() + seconds) == .success else {
            kill(process.processIdentifier, SIGKILL)
            return nil
        }
        return process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
    }

    @Test func followStreamsNewEventsFromOtherProcessesUntilSIGTERM() throws {
        let cli = try fake()
        let before = try create(cli)
        let running = try cli.start(["events", "--follow", "--json"])
        let reader = LineReader(running.out.fileHandleForReading)
        // Existing events first, as JSON Lines.
        #expect(try reader.events(of: before, count: 2) == ["created", "ready"])
        let after = try create(cli)
        #expect(try reader.events(of: after, count: 2) == ["created", "ready"])
        #expect(try cli.run(["destroy", after]).status == 0)
        #expect(try reader.events(of: after, count: 2) == ["destroying", "destroyed"])
        kill(running.process.processIdentifier, SIGTERM)
        #expect(exitStatus(running.process) == 0)
    }

    @Test func followOneSandboxSinceASeqInTextUntilSIGINT() throws {
        let cli = try fake()
        let mine = try create(cli)
        let other = try create(cli)
        let events = try cli.run(["events", mine, "--json"]).array()
        let createdSeq = try #require(events.first?["seq"] as? Int)
        let running = try cli.start(["events", mine, "--follow", "--since", String(createdSeq)])
        let reader = LineReader(running.out.fileHandleForReading)
        let ready = try #require(reader.next())
        #expect(ready.hasPrefix("\(createdSeq + 1) "))
        #expect(ready.contains(" \(mine) ready {\"backend_ref\":"))
        #expect(try cli.run(["destroy", other]).status == 0)
        #expect(try cli.run(["destroy", mine]).status == 0)
        let destroying = try #require(reader.next()), destroyed = try #require(reader.next())
        let fields = [destroying, destroyed].map { $0.split(separator: " ") }
        #expect(fields.map { String($0[2]) } == [mine, mine])  // nothing of the other sandbox
        #expect(fields.map { String($0[3]) } == ["destroying", "destroyed"])
        #expect(fields.map { String($0[4]) } == [#"{"reason":"manual"}"#, #"{"reason":"manual"}"#])
        kill(running.process.processIdentifier, SIGINT)
        #expect(exitStatus(running.process) == 0)
    }

    @Test func aReaderThatGoesAwayEndsFollowWithExitZero() throws {
        let cli = try fake()
        _ = try create(cli)
        // `head -n 1` exits after one line; sandboxer must notice the closed pipe and exit 0.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", "\"$0\" events --follow --json | head -n 1; echo \"status=${PIPESTATUS[0]}\"", CLIRunner.binary]
        p.environment = cli.environment
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let output = ErrorCollector(out.fileHandleForReading)
        #expect(exitStatus(p) == 0, "sandboxer kept running after its reader left")
        let lines = String(decoding: output.wait(), as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.first?.contains(#""type":"created""#) == true)
        #expect(lines.last == "status=0")
    }

    @Test func followRefusesALimit() throws {
        let cli = try fake()
        let r = try cli.run(["events", "--follow", "--limit", "3"])
        #expect(r.status == 2)
        #expect(r.stderr == "sandboxer: '--limit' cannot be combined with '--follow'. See 'sandboxer events --help'.\n")
        #expect(try cli.run(["events", "--help"]).stdout.contains("--follow"))
    }

    @Test func explainInTextAndJSON() throws {
        let cli = try fake()
        let id = try create(cli, ["--ttl", "2h"])
        let json = try cli.run(["explain", id, "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let object = try json.object()
        let expires = try #require((object["ttl"] as? [String: Any])?["expires_at"] as? String)
        let latest = try #require((object["cap"] as? [String: Any])?["latest_expires_at"] as? String)
        let readyText = try #require((object["ttl"] as? [String: Any])?["ready_at"] as? String)
        let readyAt = try #require(RFC3339.parse(readyText))
        #expect(latest == RFC3339.format(readyAt.addingTimeInterval(4 * 3600)))
        let remaining = try #require((object["ttl"] as? [String: Any])?["remaining_seconds"] as? Int)
        #expect((7190...7200).contains(remaining))
        let head = "\(id) is ready and will be destroyed at \(expires) (in "
        let tail = ") by rule ttl: its 2h ttl ends then; it can be extended up to \(latest) (max 4h)."
        #expect(object["summary"] as? String == head + DurationText.compact(Int64(remaining)) + tail)
        let text = try cli.run(["explain", id])
        #expect(text.status == 0)
        let lines = text.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // A later run: the time left may have moved on by a second.
        #expect(lines.first?.hasPrefix(head) == true && lines.first?.hasSuffix(tail) == true, "\(lines.first ?? "")")
        #expect(lines[1] == "")
        #expect(lines.contains("ttl         2h (requested 2h)"))
        #expect(lines.contains("next        rule ttl at \(expires): destroy"))
        #expect(lines.contains("warning     off"))

        let due = try cli.run(["explain", id], extraEnv: ["SANDBOXER_CLOCK_OFFSET": "3h"])
        #expect(due.stdout.hasPrefix("\(id) is ready but has been due since \(expires) ("))

        #expect(try cli.run(["destroy", id]).status == 0)
        let ended = try cli.run(["explain", id])
        #expect(ended.stdout.hasPrefix("\(id) was destroyed at "))
        #expect(ended.stdout.split(separator: "\n").first?.hasSuffix(" on request (reason manual).") == true)
        let missing = try cli.run(["explain", "sbx-0123456789abcdef"])
        #expect(missing.status == 1)
        #expect(missing.stderr == "sandboxer: No sandbox with id 'sbx-0123456789abcdef'.\n")
        #expect(try cli.run(["explain"]).status == 2)
        let help = try cli.run(["explain", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("Usage: sandboxer explain ID\n"))
    }

    @Test func extendRecordsTheRealOSUserNotUSER() throws {
        let cli = try fake()
        let id = try create(cli)
        #expect(try cli.run(["extend-ttl", id, "--duration", "1h"], extraEnv: ["USER": "mallory"]).status == 0)
        let extended = try #require(try cli.run(["events", id, "--json"]).array().first { $0["type"] as? String == "ttl_extended" })
        let user = try #require(getpwuid(getuid()).flatMap { $0.pointee.pw_name.map { String(cString: $0) } })
        #expect((extended["data"] as? [String: Any])?["by"] as? String == "cli:\(user)")
    }

    @Test func theSweepWarnsOnceBeforeExpiry() throws {
        let cli = try fake()
        let id = try create(cli, ["--profile", "warned"])
        let inWindow = ["SANDBOXER_CLOCK_OFFSET": "55m"]
        #expect(try cli.run(["expire"], extraEnv: inWindow).stdout == "Nothing is due.\n")  // a dry run sends none
        #expect(try cli.run(["events", id, "--json"]).array().count == 2)
        for _ in 0..<2 { #expect(try cli.run(["expire", "--apply"], extraEnv: inWindow).status == 0) }
        let warnings = try cli.run(["events", id, "--json"]).array().filter { $0["type"] as? String == "expiry_warning" }
        #expect(warnings.count == 1)
        let data = try #require(warnings.first?["data"] as? [String: String])
        #expect(data["rule"] == "ttl")
        #expect(data["expires_at"] == (try cli.run(["show", id, "--json"]).object()["expires_at"] as? String))
        #expect(data["in"]?.isEmpty == false)
        let explained = try cli.run(["explain", id, "--json"], extraEnv: inWindow).object()
        #expect((explained["expiry_warning"] as? [String: Any])?["sent"] as? Bool == true)
    }
}
