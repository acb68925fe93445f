import Foundation
import Glibc
import PluginKit
import Synchronization

/// One host's supervised ControlMaster: `ssh -MNT` as our child (never `-f`: daemonized ssh here
/// ends as a zombie of a slow PID 1), restarted with backoff when it ends, reaped by its supervisor
/// thread. The thread lives as long as the process, so the master, started under
/// `setpriv --pdeathsig KILL`, dies with us and never outlives the process that owns it.
/// A live socket of another process's master (another CLI command, `serve`) is used as it is.
final class ControlMaster: @unchecked Sendable {
    // @unchecked: `state` is only touched with `lock` held; the rest is immutable.
    let host: BYOKHost
    let files: SSHFiles
    let secretKey: @Sendable () throws(PluginError) -> String?
    let log: @Sendable (PluginLogLevel, String) -> Void
    private let lock = NSCondition()
    private var state = MasterState()
    private var thread: Thread?
    /// Another process's master answered on the socket once: a CLI command checks once, not per
    /// remote command (should that master die, ssh itself says so with 255, or connects directly).
    private var othersChecked = false

    static let ssh = "/usr/bin/ssh"
    static let setpriv = "/usr/bin/setpriv"

    init(host: BYOKHost, files: SSHFiles, secretKey: @escaping @Sendable () throws(PluginError) -> String?,
         log: @escaping @Sendable (PluginLogLevel, String) -> Void) {
        self.host = host; self.files = files; self.secretKey = secretKey; self.log = log
    }

    var socketPath: String { files.controlPath(host) }

    /// Returns once a master answers on the socket, or throws `unavailable` naming why not. A host
    /// whose master is down and waiting out its backoff answers at once, unless `throughBackoff`.
    func ensure(timeout: TimeInterval, throughBackoff: Bool = false) throws(PluginError) {
        if isUp() { return }
        lock.lock()
        if thread == nil {
            let t = Thread { [self] in supervise() }
            t.name = "byok-master-\(host.name)"
            thread = t
            t.start()
        }
        lock.broadcast()  // wake the supervisor: a call wants the master
        let deadline = Date().addingTimeInterval(timeout)
        while state.phase != .up {
            if !throughBackoff, state.phase == .down, let retry = state.retryAt, retry > Date() {
                let why = state.lastError.map { ": \($0)" } ?? "."
                lock.unlock()
                throw PluginError(.unavailable, "The byok host \(host.name) (\(host.address):\(host.port)) is unreachable; its ssh connection is down\(why)")
            }
            if !lock.wait(until: deadline) {
                let why = state.lastError.map { " (last: \($0))" } ?? ""
                lock.unlock()
                throw PluginError(.unavailable, "The byok host \(host.name) (\(host.address):\(host.port)) did not answer within \(Int(timeout)) s\(why).")
            }
        }
        lock.unlock()
    }

    /// Whether a master (ours or another process's) answers on the socket now.
    func isUp() -> Bool {
        lock.lock()
        let known = state.phase == .up || othersChecked
        lock.unlock()
        guard LocalFiles.exists(socketPath) else { return false }
        if known { return true }
        guard socketAnswers() else { return false }
        lock.lock()
        othersChecked = true
        lock.unlock()
        return true
    }

    /// Waits until a master that was up has ended (keepalive gave up, or it was refused); false
    /// when it is still up at `timeout`. For health checks and tests.
    func waitUntilDown(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        lock.lock(); defer { lock.unlock() }
        while state.phase == .up || state.phase == .starting {
            if !lock.wait(until: deadline) { return false }
        }
        return true
    }

    /// Waits until a (restarted) master is up; false at `timeout`.
    func waitUntilUp(timeout: TimeInterval) -> Bool {
        (try? ensure(timeout: timeout, throughBackoff: true)) != nil
    }

    /// The phase for reports (`down` with the reason).
    func describe() -> (up: Bool, error: String?) {
        lock.lock(); defer { lock.unlock() }
        return (state.phase == .up, state.lastError)
    }

    /// Whether a process accepts connections on the control socket: a live master does, the socket
    /// file a dead one left does not (ECONNREFUSED). A connect, not `ssh -O check`: no process to
    /// start (≈ 20 ms on a loaded machine, more than the command it guards).
    func socketAnswers() -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socketPath.utf8)
        guard path.count < MemoryLayout.size(ofValue: addr.sun_path) else { return false }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: path)
            raw[path.count] = 0
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return rc == 0
    }

    /// `ssh -O check`: the master answers on its socket.
    private func check() -> Bool {
        guard let child = try? Subprocess.spawn(Self.ssh, ["-F", files.configPath, "-O", "check", host.alias],
                                                pipeStdin: false, pipeStdout: false, pipeStderr: false) else { return false }
        return child.wait() == 0
    }

    /// The supervisor thread: starts the master when wanted, waits for it, records how it ended,
    /// and starts it again after the backoff.
    private func supervise() {
        lock.lock()
        var action = state.wanted(now: Date())
        while true {
            switch action {
            case .none:
                lock.wait()
                action = state.wanted(now: Date())
                continue
            case .spawnAt(let at):
                while Date() < at && state.phase == .down { _ = lock.wait(until: at) }
                action = state.retryDue(now: Date())
                continue
            case .spawn:
                lock.unlock()
                let message = runMaster()
                lock.lock()
                action = state.exited(now: Date(), message: message)
                lock.broadcast()
                log(.warning, "byok: the ssh connection to \(host.name) ended\(message.map { ": \($0)" } ?? ""); retrying in \(String(format: "%.1f", MasterState.backoff(failures: state.failures))) s.")
            }
        }
    }

    /// Runs one master to its end; returns the last line it printed.
    private func runMaster() -> String? {
        var keyWritten = false
        do {
            if let key = try secretKey() {
                try files.writeSecretKey(key, for: host)
                keyWritten = true
            }
        } catch {
            return error.message
        }
        unlink(socketPath)  // a stale socket of a dead master would make ssh refuse to listen
        let args = ["-F", files.configPath, "-M", "-N", "-T", "-o", "ControlMaster=yes", "-o", "ControlPersist=no", host.alias]
        let usePdeath = access(Self.setpriv, X_OK) == 0
        let child: Subprocess
        do {
            child = usePdeath
                ? try Subprocess.spawn(Self.setpriv, ["--pdeathsig", "KILL", "--", Self.ssh] + args, pipeStdin: false, pipeStdout: false, pipeStderr: true)
                : try Subprocess.spawn(Self.ssh, args, pipeStdin: false, pipeStdout: false, pipeStderr: true)
        } catch {
            if keyWritten { files.removeSecretKey(for: host) }
            return error.message
        }
        // Up when the socket answers (no event says so: look every 50 ms until then). The key is
        // needed only while the master authenticates: removed once it is up, or when it ends.
        var stderr = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        var connected = false
        while child.stderrFd >= 0 {
            var p = pollfd(fd: child.stderrFd, events: Int16(POLLIN), revents: 0)
            let n = poll(&p, 1, connected ? -1 : 50)
            if !connected && LocalFiles.exists(socketPath) && check() {
                connected = true
                if keyWritten { files.removeSecretKey(for: host); keyWritten = false }
                lock.lock()
                state.connected()
                lock.broadcast()
                lock.unlock()
            }
            if n <= 0 { continue }
            let r = read(child.stderrFd, &buffer, buffer.count)
            if r < 0 && errno == EINTR { continue }
            if r <= 0 { close(child.stderrFd); child.stderrFd = -1; break }
            stderr.append(contentsOf: buffer[0..<r])
            if stderr.count > 8192 { stderr = stderr.suffix(4096) }
        }
        child.wait()
        if keyWritten { files.removeSecretKey(for: host) }
        return Self.lastLine(stderr)
    }

    /// The last non-empty line ssh printed, trimmed and bounded; host-key refusals said plainly.
    static func lastLine(_ data: Data) -> String? {
        let text = String(decoding: data, as: UTF8.self)
        if text.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") || text.contains("Host key verification failed")
            || text.contains("No ED25519 host key is known") || text.contains("host key is known for") {
            return "its host key does not match the pinned host_key (refused)"
        }
        let line = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.last { !$0.isEmpty }
        return line.map { String($0.prefix(300)) }
    }
}
