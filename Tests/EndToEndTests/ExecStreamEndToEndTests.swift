import CLocalVM
import Foundation
import Glibc
import Testing

/// Streamed exec through the built binary and `serve`'s HTTP API on real LocalVM sandboxes: output as
/// it arrives, byte-exact, stdin, exit codes and signals, a client that leaves kills the command, and
/// `serve`'s memory stays flat through 1 GB of output. Needs root and busybox-static (CI installs it).
@Suite(.serialized, .enabled(if: Machine.isRoot && Machine.hasBusybox, "needs root and busybox-static (apt-get install busybox-static)"))
struct ExecStreamEndToEndTests {
    /// A CLI on a LocalVM config of its own (private network pool) with `extra` top-level YAML.
    static func runner(extra: String = "") throws -> CLIRunner {
        var cli = try CLIRunner()
        try cli.useConfig(CLIRunner.localVMConfigHead() + """
            profiles:
              default:
                backend: localvm
                resources: {cpus: 1, memory: 512M, pids: 512}
                network: none
                ttl: {default: 1h, max: 24h}
            \(extra)
            """)
        return cli
    }

    static func create(_ cli: CLIRunner) throws -> String {
        let created = try cli.run(["create", "--profile", "default", "--json"])
        try #require(created.status == 0, "create failed: \(created.stderr)")
        return try #require(try created.object()["id"] as? String)
    }

    @Test func cliStreamsBytesStdinCodesAndSignals() throws {
        let cli = try Self.runner()
        let id = try Self.create(cli)
        defer { _ = try? cli.run(["destroy", id]) }

        // Binary output, byte-exact on both streams, and the command's exit code.
        let binary = try cli.start(["exec", id, "--", "sh", "-c", #"printf 'a\000b\377'; printf '\001\376' >&2; exit 5"#])
        let errBytes = ErrorCollector(binary.err.fileHandleForReading)
        try? binary.input.fileHandleForWriting.close()
        let outBytes = binary.out.fileHandleForReading.readDataToEndOfFile()
        binary.process.waitUntilExit()
        #expect(outBytes == Data([0x61, 0, 0x62, 0xFF]))
        #expect(errBytes.wait() == Data([1, 0xFE]))
        #expect(binary.process.terminationStatus == 5)

        // Standard input (a pipe) is forwarded as it comes.
        let payload = Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let cat = try cli.start(["exec", id, "--", "cat"])
        let catErr = ErrorCollector(cat.err.fileHandleForReading)
        let writer = Thread { cat.input.fileHandleForWriting.write(payload); try? cat.input.fileHandleForWriting.close() }
        writer.start()
        let echoed = cat.out.fileHandleForReading.readDataToEndOfFile()
        cat.process.waitUntilExit()
        #expect(echoed == payload, "stdin came back as \(echoed.count) bytes; stderr: \(String(decoding: catErr.wait(), as: UTF8.self))")
        #expect(cat.process.terminationStatus == 0)

        // A signal that ends the command: 128 + its number.
        let killed = try cli.run(["exec", id, "--", "sh", "-c", "kill -9 $$"])
        #expect(killed.status == 137, "\(killed.stderr)")
    }

    @Test func cliPrintsOutputBeforeTheCommandEnds() throws {
        let cli = try Self.runner()
        let id = try Self.create(cli)
        defer { _ = try? cli.run(["destroy", id]) }
        try #require(try cli.run(["exec", id, "--", "mkfifo", "/gate"]).status == 0)
        // The command prints, then blocks on a FIFO only the test opens.
        let running = try cli.start(["exec", id, "--", "sh", "-c", "echo first; read x < /gate; echo second $x"])
        try? running.input.fileHandleForWriting.close()
        let first = running.readLine()
        #expect(first == "first", "the first line did not arrive while the command waited")
        let release = try cli.run(["exec", id, "--", "sh", "-c", "echo go > /gate"])
        #expect(release.status == 0, "\(release.stderr)")
        let rest = try running.finish()
        #expect(rest.stdout == "second go\n")
        #expect(rest.status == 0)
    }

    @Test func wholeBufferExecIsCappedAndFlagged() throws {
        let cli = try Self.runner(extra: "exec: {max_output_bytes: 1K}")
        let id = try Self.create(cli)
        defer { _ = try? cli.run(["destroy", id]) }
        let r = try cli.run(["exec", id, "--json", "--", "sh", "-c", "head -c 5000 /dev/zero; printf 'x\\377' >&2"])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try r.object()
        let b64 = try #require(object["stdout_b64"] as? String)
        let out = try #require(Data(base64Encoded: b64))
        #expect(out == Data(count: 1024))
        #expect(object["stdout_truncated"] as? Bool == true)
        #expect(object["stderr_truncated"] as? Bool == false)
        #expect(Data(base64Encoded: object["stderr_b64"] as? String ?? "") == Data([0x78, 0xFF]))
    }

    @Test func httpStreamsNDJSONAndKillsOnDisconnect() throws {
        let cli = try Self.runner(extra: "exec: {max_output_bytes: 1K}")
        let id = try Self.create(cli)
        defer { _ = try? cli.run(["destroy", id]) }
        let serve = try cli.start(["serve", "--listen", "127.0.0.1:0", "--json"])
        defer { serve.signal(SIGTERM); _ = try? serve.finish() }
        let port = try Self.servePort(serve)

        // Byte-exact output per stream, stdin from the body, the exit line last.
        var small = try NDJSONExec(port: port, id: id, body: #"{"argv":["sh","-c","cat; printf '\\000\\377' >&2; exit 3"],"stdin_b64":"AAEC/w=="}"#)
        let head = try small.head()
        #expect(head.hasPrefix("HTTP/1.1 200"), "\(head)")
        #expect(head.lowercased().contains("transfer-encoding: chunked"))
        var out = Data(), err = Data(), last: [String: Any] = [:]
        while let line = try small.nextLine() {
            let object = try #require(try JSONSerialization.jsonObject(with: line) as? [String: Any])
            if let b64 = object["data_b64"] as? String {
                let bytes = try #require(Data(base64Encoded: b64))
                if object["stream"] as? String == "stdout" { out.append(bytes) } else { err.append(bytes) }
            } else if object["heartbeat"] == nil {
                last = object
            }
        }
        #expect(out == Data([0, 1, 2, 0xFF]))
        #expect(err == Data([0, 0xFF]))
        #expect(last["exit_code"] as? Int == 3)

        // A signal, as the last line says it.
        var signalled = try NDJSONExec(port: port, id: id, body: #"{"argv":["sh","-c","kill -15 $$"]}"#)
        _ = try signalled.head()
        var end: [String: Any] = [:]
        while let line = try signalled.nextLine() { end = try #require(try JSONSerialization.jsonObject(with: line) as? [String: Any]) }
        #expect(end["exit_code"] as? Int == 143)
        #expect(end["signal"] as? Int == 15)

        // Whole-buffer HTTP exec: exact bytes in the _b64 fields, and the cap's flags.
        let whole = try Loopback.exchange(port, Self.post(id, #"{"argv":["sh","-c","head -c 3000 /dev/zero; printf '\\377'"]}"#, accept: nil))
        let json = String(whole[whole.range(of: "\r\n\r\n")!.upperBound...])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["stdout_truncated"] as? Bool == true)
        #expect(Data(base64Encoded: object["stdout_b64"] as? String ?? "")?.count == 1024)

        // A client that goes away mid-stream: the command is killed (no process left; a zombie counts as gone).
        var endless = try NDJSONExec(port: port, id: id, body: #"{"argv":["yes","sandboxer"]}"#, query: "?stream=1")
        _ = try endless.head()
        #expect(try endless.nextLine() != nil)
        let pid = try #require(Self.hostPid(named: "yes", sandbox: id), "the command's host process was not found")
        let pidfd = clvm_pidfd_open(pid)
        endless.close()
        if pidfd >= 0 {
            defer { Glibc.close(pidfd) }
            #expect(clvm_pidfd_wait_exit(pidfd, 15_000) == 1, "the command outlived its client")
        }
    }

    @Test func oneGigabyteThroughServeWithFlatMemory() throws {
        let cli = try Self.runner()
        let id = try Self.create(cli)
        defer { _ = try? cli.run(["destroy", id]) }
        let serve = try cli.start(["serve", "--listen", "127.0.0.1:0", "--json"])
        defer { serve.signal(SIGTERM); _ = try? serve.finish() }
        let port = try Self.servePort(serve)
        let pid = serve.process.processIdentifier

        // Warm up (threads, buffers, the plugin), then measure the high-water mark around 1 GB.
        var warm = try NDJSONExec(port: port, id: id, body: #"{"argv":["head","-c","8388608","/dev/zero"]}"#)
        _ = try warm.head()
        _ = try warm.countOutput()
        let before = try #require(Self.highWaterKiB(pid))
        var big = try NDJSONExec(port: port, id: id, body: #"{"argv":["head","-c","1073741824","/dev/zero"]}"#)
        _ = try big.head()
        let (bytes, exitCode) = try big.countOutput()
        let after = try #require(Self.highWaterKiB(pid))
        let growthMiB = Double(after - before) / 1024
        print("exec-stream 1 GiB: serve VmHWM \(before) KiB -> \(after) KiB, growth \(String(format: "%.1f", growthMiB)) MiB")
        #expect(bytes == 1 << 30)
        #expect(exitCode == 0)
        #expect(growthMiB < 64, "serve's peak RSS grew by \(growthMiB) MiB streaming 1 GiB")
    }

    // MARK: - Helpers

    /// The port `serve --json` reports in its ready object (printed pretty, over several lines).
    static func servePort(_ serve: CLIRunner.Running) throws -> Int {
        var text = ""
        while let line = serve.readLine() {
            text += line + "\n"
            if line == "}" { break }
        }
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "serve printed no ready object")
        let listen = try #require(object["listen"] as? String)
        return try #require(Int(listen.split(separator: ":").last ?? ""))
    }

    static func post(_ id: String, _ body: String, accept: String?, query: String = "") -> String {
        "POST /v1/sandboxes/\(id)/exec\(query) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + (accept.map { "Accept: \($0)\r\n" } ?? "") + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body
    }

    /// `VmHWM` of a process, in KiB.
    static func highWaterKiB(_ pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return nil }
        return Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" })[1])
    }

    /// The host pid of a process named `name` in the sandbox `sandbox` (its cgroup path names it).
    static func hostPid(named name: String, sandbox: String) -> Int32? {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry),
                  (try? String(contentsOfFile: "/proc/\(entry)/comm", encoding: .utf8)) == name + "\n",
                  let cgroup = try? String(contentsOfFile: "/proc/\(entry)/cgroup", encoding: .utf8),
                  cgroup.contains(sandbox) else { continue }
            return pid
        }
        return nil
    }
}

/// A streamed exec over a raw loopback socket: the response head, then the chunked body as JSON Lines.
/// Scans with memchr and consumes by index (no per-byte Swift loops), so reading 1 GiB stays cheap
/// next to the server being measured.
struct NDJSONExec {
    let fd: Int32
    private var raw: [UInt8] = []     // received; raw[rawStart...] not yet de-chunked
    private var rawStart = 0
    private var body: [UInt8] = []    // de-chunked; body[bodyStart...] not yet split into lines
    private var bodyStart = 0
    private var chunkLeft = 0         // bytes of the current chunk still to move to `body`
    private var ended = false

    init(port: Int, id: String, body: String, query: String = "") throws {
        guard let fd = Loopback.connect(port) else { throw Loopback.Failure(message: "nothing listens on \(port)") }
        self.fd = fd
        let request = Array(ExecStreamEndToEndTests.post(id, body, accept: query.isEmpty ? "application/x-ndjson" : nil, query: query).utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
            throw Loopback.Failure(message: "short write")
        }
    }

    func close() { Glibc.close(fd) }

    /// The index of `byte` in `bytes` at or after `from`.
    static func find(_ byte: UInt8, in bytes: [UInt8], from: Int) -> Int? {
        bytes.withUnsafeBufferPointer { p in
            guard from < p.count, let base = p.baseAddress, let hit = memchr(base + from, Int32(byte), p.count - from) else { return nil }
            return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
        }
    }

    private mutating func fill() -> Bool {
        if rawStart > 0 { raw.removeFirst(rawStart); rawStart = 0 }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        let n = read(fd, &buffer, buffer.count)
        guard n > 0 else { return false }
        raw.append(contentsOf: buffer[0..<n])
        return true
    }

    /// The status line and headers.
    mutating func head() throws -> String {
        while true {
            var from = rawStart
            while let lf = Self.find(10, in: raw, from: from) {
                if lf + 2 < raw.count, raw[lf + 1] == 13, raw[lf + 2] == 10 {
                    let text = String(decoding: raw[rawStart..<(lf - 1)], as: UTF8.self)
                    rawStart = lf + 3
                    return text
                }
                from = lf + 1
            }
            guard fill() else { throw Loopback.Failure(message: "no response head") }
        }
    }

    /// Moves de-chunked bytes from `raw` to `body`; false when more input is needed.
    private mutating func dechunk() throws -> Bool {
        var progressed = false
        while rawStart < raw.count, !ended {
            if chunkLeft > 0 {
                let take = min(chunkLeft, raw.count - rawStart)
                body.append(contentsOf: raw[rawStart..<(rawStart + take)])
                rawStart += take
                chunkLeft -= take
                progressed = true
                continue
            }
            // Either the CRLF that ends a chunk's data or "hex\r\n".
            guard let lf = Self.find(10, in: raw, from: rawStart) else { return progressed }
            let text = String(decoding: raw[rawStart..<lf], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            rawStart = lf + 1
            if text.isEmpty { continue }
            guard let size = Int(text, radix: 16) else { throw Loopback.Failure(message: "bad chunk size \(text)") }
            if size == 0 { ended = true; return true }
            chunkLeft = size
        }
        return progressed
    }

    /// The next JSON line, or nil at the end of the body.
    mutating func nextLine() throws -> Data? {
        while true {
            if let lf = Self.find(10, in: body, from: bodyStart) {
                let line = Data(body[bodyStart..<lf])
                bodyStart = lf + 1
                if bodyStart > (1 << 20), bodyStart * 2 > body.count { body.removeFirst(bodyStart); bodyStart = 0 }
                return line
            }
            if ended { return nil }
            if try !dechunk() { guard fill() else { return nil } }
        }
    }

    /// Reads to the end, counting stdout bytes (from base64 lengths) and taking the exit code.
    mutating func countOutput() throws -> (bytes: Int, exitCode: Int?) {
        var total = 0
        var exitCode: Int? = nil
        let prefix = Data(#"{"data_b64":""#.utf8)
        while let line = try nextLine() {
            if line.count > prefix.count, line.prefix(prefix.count) == prefix {
                // {"data_b64":"<base64>","stream":"stdout"}: the base64 ends at the next quote.
                let bytes = [UInt8](line)
                guard let quote = Self.find(UInt8(ascii: "\""), in: bytes, from: prefix.count) else { continue }
                let length = quote - prefix.count
                let padding = (bytes[quote - 1] == UInt8(ascii: "=") ? 1 : 0) + (bytes[quote - 2] == UInt8(ascii: "=") ? 1 : 0)
                total += length / 4 * 3 - padding
            } else if let object = try JSONSerialization.jsonObject(with: line) as? [String: Any], let code = object["exit_code"] as? Int {
                exitCode = code
            }
        }
        return (total, exitCode)
    }
}
