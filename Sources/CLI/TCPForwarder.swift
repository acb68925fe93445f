import Dispatch
import FoundationEssentials
import Glibc
import Synchronization
import Core
import Basics

/// `port-forward`'s engine: listens on 127.0.0.1 and relays every accepted connection to the
/// sandbox's endpoint, either a direct TCP connection or a `via.proxy_command` child whose stdin
/// and stdout are the stream. Each direction is copied by its own thread; an end of stream on one
/// side is passed on as a half-close, so both sides see a clean close.
final class TCPForwarder: Sendable {
    /// Where each connection goes.
    enum Upstream: Sendable {
        case direct(host: String, port: Int)
        /// Run per connection; its stdin/stdout carry the bytes.
        case command([String])
    }

    static let connectTimeout = 10.0
    /// Connections beyond this are refused (closed at once) rather than given threads.
    static let maxConnections = 256

    let upstream: Upstream
    /// The port really listened on (the one asked for, or the kernel's pick for 0).
    let port: Int
    private let listener: Int32
    /// Written to wake the accept loop at stop.
    private let wake: (read: Int32, write: Int32)
    private let live = Mutex<(stopped: Bool, sockets: Set<Int32>, children: [pid_t])>((false, [], []))
    private let relays = DispatchGroup()
    /// Held around accept + FD_CLOEXEC and around spawns, so no child inherits a socket.
    private let spawnLock = Mutex(())
    /// One line per failed connection (the command prints them to stderr).
    private let report: @Sendable (String) -> Void

    /// Binds 127.0.0.1:`port` (0 picks a free one) and listens.
    init(port: Int, upstream: Upstream, report: @escaping @Sendable (String) -> Void) throws(SandboxerError) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SandboxerError(.internal, "Cannot create a socket: \(String(cString: strerror(errno))).") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(0x7f00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw SandboxerError(.unavailable, "Cannot listen on 127.0.0.1:\(port): \(reason).")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        var pipeFDs: [Int32] = [0, 0]
        guard Self.cloexecPipe(&pipeFDs) else {
            close(fd)
            throw SandboxerError(.internal, "Cannot create a pipe: \(String(cString: strerror(errno))).")
        }
        self.listener = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
        self.wake = (pipeFDs[0], pipeFDs[1])
        self.upstream = upstream
        self.report = report
    }

    /// Starts the accept loop on its own thread.
    func start() {
        relays.enter()
        PosixThread.detachNewThread { [self] in
            acceptLoop()
            relays.leave()
        }
    }

    /// Stops listening (nothing is left listening when this returns), ends every open connection
    /// on both sides, and waits for their threads.
    func stop() {
        let (alreadyStopped, sockets, children) = live.withLock { s in
            defer { s.stopped = true }
            return (s.stopped, s.sockets, s.children)
        }
        if alreadyStopped { return }
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
        for fd in sockets { shutdown(fd, Int32(SHUT_RDWR)) }
        for pid in children { kill(pid, SIGTERM) }
        _ = relays.wait(timeout: .now() + 10)
        close(listener)
        close(wake.read)
        close(wake.write)
    }

    private func acceptLoop() {
        var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0), pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
        while !live.withLock({ $0.stopped }) {
            let n = poll(&fds, 2, -1)
            if n < 0 { if errno == EINTR { continue } else { return } }
            if fds[1].revents != 0 { return }
            guard fds[0].revents & Int16(POLLIN) != 0 else { continue }
            let client: Int32 = spawnLock.withLock { _ in
                let c = accept(listener, nil, nil)
                if c >= 0 { _ = fcntl(c, F_SETFD, FD_CLOEXEC) }
                return c
            }
            guard client >= 0 else { continue }
            let admitted = live.withLock { s -> Bool in
                guard !s.stopped, s.sockets.count < Self.maxConnections * 2 else { return false }
                s.sockets.insert(client)
                return true
            }
            guard admitted else { close(client); continue }
            relays.enter()
            PosixThread.detachNewThread { [self] in
                serve(client)
                relays.leave()
            }
        }
    }

    /// One connection: open the upstream, copy both ways, close everything.
    private func serve(_ client: Int32) {
        defer { forget(client); close(client) }
        switch upstream {
        case .direct(let host, let port):
            switch TCPConnect.connect(host: host, port: port, timeout: Self.connectTimeout) {
            case .failure(let failure):
                report("sandboxer: port-forward: \(failure.message)")
            case .success(let server):
                guard remember(server) else { close(server); return }
                defer { forget(server); close(server) }
                relay(client: client, upRead: server, upWrite: server, upIsSocket: true)
            }
        case .command(let argv):
            var toChild: [Int32] = [0, 0], fromChild: [Int32] = [0, 0]
            let made = spawnLock.withLock { _ in Self.cloexecPipe(&toChild) && (Self.cloexecPipe(&fromChild) || { close(toChild[0]); close(toChild[1]); return false }()) }
            guard made else { report("sandboxer: port-forward: cannot create a pipe: \(String(cString: strerror(errno)))."); return }
            let child: ChildProcess
            do {
                child = try spawnLock.withLock { _ throws(SandboxerError) in
                    try ChildProcess.spawnVia(argv, stdio: .descriptors(stdin: toChild[0], stdout: fromChild[1]))
                }
            } catch {
                report("sandboxer: port-forward: \(error.message)")
                for fd in toChild + fromChild { close(fd) }
                return
            }
            close(toChild[0]); close(fromChild[1])
            live.withLock { $0.children.append(child.pid) }
            relay(client: client, upRead: fromChild[0], upWrite: toChild[1], upIsSocket: false)
            close(fromChild[0])
            child.terminate()
            live.withLock { s in s.children.removeAll { $0 == child.pid } }
        }
    }

    /// Copies client→upstream on a second thread and upstream→client here; returns when both end.
    private func relay(client: Int32, upRead: Int32, upWrite: Int32, upIsSocket: Bool) {
        let done = DispatchSemaphore(value: 0)
        PosixThread.detachNewThread {
            Self.copy(from: client, to: upWrite)
            // The client finished sending: pass the end of stream on.
            if upIsSocket { shutdown(upWrite, Int32(SHUT_WR)) } else { close(upWrite) }
            done.signal()
        }
        Self.copy(from: upRead, to: client)
        shutdown(client, Int32(SHUT_WR))
        done.wait()
    }

    /// Copies until end of stream or an error on either side.
    static func copy(from source: Int32, to sink: Int32) {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            var offset = 0
            while offset < n {
                let w = buffer.withUnsafeBytes { write(sink, $0.baseAddress! + offset, n - offset) }
                if w < 0 && errno == EINTR { continue }
                guard w > 0 else { return }
                offset += w
            }
        }
    }

    /// pipe(2) with both ends close-on-exec (Glibc's module has no pipe2); callers that may race a
    /// spawn hold `spawnLock`.
    static func cloexecPipe(_ fds: inout [Int32]) -> Bool {
        guard pipe(&fds) == 0 else { return false }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        return true
    }

    private func remember(_ fd: Int32) -> Bool {
        live.withLock { s in
            guard !s.stopped else { return false }
            s.sockets.insert(fd)
            return true
        }
    }

    private func forget(_ fd: Int32) { _ = live.withLock { $0.sockets.remove(fd) } }
}
