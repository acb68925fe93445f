import Glibc

/// An `errno` value from a failed system call.
struct SystemErrno: Error, Equatable, Sendable, CustomStringConvertible {
    let code: Int32

    init(_ code: Int32) { self.code = code }

    var description: String { "\(String(cString: strerror(code))) (errno \(code))" }

    static let wouldBlock = SystemErrno(EAGAIN)
    var isWouldBlock: Bool { code == EAGAIN || code == EWOULDBLOCK }
}

/// The one path every socket-layer system call goes through: -1 becomes `.failure(errno)`, and an
/// interrupted call (EINTR) is retried here, once for all callers.
enum SystemCall {
    /// Runs `call` until it is not interrupted; `-1` with errno is a failure.
    @inline(__always)
    static func retrying<T: FixedWidthInteger>(_ call: () -> T) -> Result<T, SystemErrno> {
        while true {
            let result = call()
            guard result == -1 else { return .success(result) }
            let code = errno
            if code == EINTR { continue }
            return .failure(SystemErrno(code))
        }
    }

    /// close(2), never retried: on Linux the descriptor is released even when close reports EINTR,
    /// and retrying could close a descriptor another thread has just been given.
    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }
}

extension Result where Failure == SystemErrno {
    /// The failure as an `HTTPServerError` with `what` naming the call, for start-up paths.
    func orThrow(_ code: HTTPServerError.Code, _ what: String) throws(HTTPServerError) -> Success {
        switch self {
        case .success(let value): return value
        case .failure(let error): throw HTTPServerError(code, "\(what) failed: \(error).")
        }
    }
}
