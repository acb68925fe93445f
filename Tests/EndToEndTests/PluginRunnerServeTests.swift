import CLocalVM
import Foundation
import Glibc
import Testing

/// Plugins out of process, through the real executable: `serve` outlives a segfaulting plugin, and a
/// runner dies with its host (PR_SET_PDEATHSIG).
@Suite struct PluginRunnerServeTests {
    /// Two TestPlugin backends in plugin runners: `crashy` segfaults on every create, `steady` works.
    static func runner() throws -> CLIRunner {
        var cli = try CLIRunner()
        for dir in ["crashy", "steady"] {
            try FileManager.default.createDirectory(atPath: cli.home + "/" + dir, withIntermediateDirectories: true)
        }
        try cli.useConfig("""
            data_dir: @HOME@/data
            backends:
              crashy:
                plugin: @PRODUCTS@/libSandboxerTestPlugin.so
                isolation: process
                config:
                  state_dir: @HOME@/crashy
                  crash: {create: segv}
              steady:
                plugin: @PRODUCTS@/libSandboxerTestPlugin.so
                isolation: process
                config:
                  state_dir: @HOME@/steady
            profiles:
              crashy:
                backend: crashy
                ttl: {default: 1h, max: 2h}
              steady:
                backend: steady
                ttl: {default: 1h, max: 2h}
            """)
        return cli
    }

    /// The status line and body of one HTTP exchange with the server on `port`.
    static func http(_ port: Int, _ method: String, _ path: String, body: String = "") throws -> (status: Int, body: String) {
        let text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        let answer = try Loopback.exchange(port, text)
        let statusWord = answer.split(separator: " ", maxSplits: 2).dropFirst().first.map(String.init) ?? ""
        let payload = answer.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        return (Int(statusWord) ?? 0, payload)
    }

    @Test func serveSurvivesASegfaultingPluginAndOtherBackendsKeepWorking() throws {
        let cli = try Self.runner()
        defer { try? FileManager.default.removeItem(atPath: cli.home) }
        let serve = try cli.start(["serve", "--listen", "127.0.0.1:0", "--json"])
        // The ready object (pretty-printed JSON, closed by a line "}") says where it listens.
        var ready = ""
        while let line = serve.readLine() {
            ready += line + "\n"
            if line == "}" { break }
        }
        let listen = try #require((try JSONSerialization.jsonObject(with: Data(ready.utf8)) as? [String: Any])?["listen"] as? String,
                                  "serve printed no ready object: \(ready)")
        let port = try #require(Int(listen.split(separator: ":").last ?? ""))

        for _ in 0..<2 {
            let crashed = try Self.http(port, "POST", "/v1/sandboxes", body: #"{"profile":"crashy"}"#)
            #expect(crashed.status == 503, "\(crashed)")
            #expect(crashed.body.contains("crashed with SIGSEGV") || crashed.body.contains("restarts in"), "\(crashed.body)")
        }
        #expect(try Self.http(port, "GET", "/healthz").status == 200)
        let created = try Self.http(port, "POST", "/v1/sandboxes", body: #"{"profile":"steady"}"#)
        #expect(created.status == 201, "\(created)")

        serve.signal(SIGTERM)
        let result = try serve.finish()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("stopped"))
    }

    @Test func theRunnerDiesWithItsHost() throws {
        let cli = try Self.runner()
        defer { try? FileManager.default.removeItem(atPath: cli.home) }
        let fifo = cli.home + "/ready"
        try #require(mkfifo(fifo, 0o600) == 0)
        // A create that hangs inside the runner; the plugin says so through the FIFO.
        var hanging = cli
        try hanging.useConfig("""
            data_dir: @HOME@/data
            backends:
              hangs:
                plugin: @PRODUCTS@/libSandboxerTestPlugin.so
                isolation: process
                config:
                  state_dir: @HOME@/steady
                  hang: [create]
                  ready_fifo: \(fifo)
            profiles:
              default:
                backend: hangs
                ttl: {default: 1h, max: 2h}
            """)
        let host = try hanging.start(["create"])
        let reader = open(fifo, O_RDONLY | O_CLOEXEC)  // blocks until the plugin opens it to write
        try #require(reader >= 0)
        var byte: UInt8 = 0
        _ = read(reader, &byte, 1)
        close(reader)
        let hostPid = host.process.processIdentifier
        let runnerPid = try #require(Self.children(of: hostPid).first { Self.commandLine($0).contains("__plugin-runner") },
                                     "the host has no plugin-runner child")

        // A pidfd, taken while the runner certainly runs: it names that process even if its pid is
        // reused later (pid_max is 32768 here), and it turns readable when the process exits.
        let runner = clvm_pidfd_open(runnerPid)
        try #require(runner >= 0, "pidfd_open: \(String(cString: strerror(errno)))")
        defer { close(runner) }
        kill(hostPid, SIGKILL)
        host.process.waitUntilExit()
        // Not through the host's pipes: a process another test started meanwhile may hold a copy of
        // their write ends (Foundation's Pipe is not close-on-exec), which would keep them open.
        // 60 s bounds a failure; the runner's end takes milliseconds.
        var exited = pollfd(fd: runner, events: Int16(POLLIN), revents: 0)
        #expect(poll(&exited, 1, 60_000) == 1, "the runner outlived its host (still running 60 s after it)")
    }

    /// Pids whose parent is `parent` (from /proc).
    static func children(of parent: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { pid_t($0) }.filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && pid_t(fields[1]) == parent
        }
    }

    static func commandLine(_ pid: pid_t) -> String {
        let data = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
