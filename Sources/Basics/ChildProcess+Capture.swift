import Glibc

extension ChildProcess {
    /// What a child run to completion printed (each stream bounded) and how it ended.
    public struct Captured: Sendable, Equatable {
        public var status: ExitStatus
        public var stdout: [UInt8]
        public var stderr: [UInt8]
        /// True when the stream was longer than the limit (the rest was read and dropped).
        public var stdoutTruncated: Bool
        public var stderrTruncated: Bool
    }

    /// Runs a child to completion with stdout and stderr captured through pipes, keeping at most
    /// `stdoutLimit`/`stderrLimit` bytes of each (the rest is drained, so the child never blocks on
    /// a full pipe). `options.stdin` applies; its stdout/stderr are replaced by pipes.
    public static func run(_ options: Options, stdoutLimit: Int = 1 << 20,
                           stderrLimit: Int = 64 << 10) -> Result<Captured, SpawnError> {
        var options = options
        options.stdout = .pipe
        options.stderr = .pipe
        let child: ChildProcess
        switch spawn(options) {
        case .success(let started): child = started
        case .failure(let error): return .failure(error)
        }
        var out = BoundedSink(limit: stdoutLimit), err = BoundedSink(limit: stderrLimit)
        var fds = [pollfd(fd: child.stdoutFd, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: child.stderrFd, events: Int16(POLLIN), revents: 0)]
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while fds.contains(where: { $0.fd >= 0 }) {
            let ready = Glibc.poll(&fds, nfds_t(fds.count), -1)
            if ready < 0 { if errno == EINTR { continue }; break }
            for i in fds.indices where fds[i].fd >= 0 && fds[i].revents != 0 {
                let n = read(fds[i].fd, &chunk, chunk.count)
                if n > 0 {
                    if i == 0 { out.append(chunk[0..<n]) } else { err.append(chunk[0..<n]) }
                } else if n == 0 || errno != EINTR && errno != EAGAIN {
                    fds[i].fd = -1  // EOF (or a broken pipe): this stream is done
                }
            }
        }
        child.closeAll()
        let status = child.wait()
        return .success(Captured(status: status, stdout: out.bytes, stderr: err.bytes,
                                 stdoutTruncated: out.truncated, stderrTruncated: err.truncated))
    }
}

/// Keeps the first `limit` bytes appended and notes whether more came.
struct BoundedSink {
    let limit: Int
    var bytes: [UInt8] = []
    var truncated = false

    mutating func append(_ chunk: ArraySlice<UInt8>) {
        let room = max(0, limit - bytes.count)
        if chunk.count > room { truncated = true }
        bytes.append(contentsOf: chunk.prefix(room))
    }
}
