import FoundationEssentials
import Basics
import Glibc
import PluginKit

/// Lets one snapshot of a sandbox run at a time, so a second one cannot thaw the sandbox under the
/// first one's copy: across threads by a process-wide set of busy lock files, across processes
/// (a CLI next to `serve`) by a POSIX record lock on the file.
///
/// Not `flock`: the exec helper is forked without exec and keeps copies of every descriptor open
/// in the plugin at that moment, so a flock taken then would stay held for as long as the exec's
/// command runs. Record locks belong to the process and are not inherited by a fork. They are
/// also dropped when the process closes any descriptor of the file, which is why only the holder
/// of the in-process lock ever opens it.
final class SnapshotLock: @unchecked Sendable {
    // @unchecked: `busy` is only read and written with `cond` locked.
    private let cond = Condition()
    private var busy = Set<String>()

    static let shared = SnapshotLock()

    /// Runs `body` holding the lock named by the file at `path` (created when missing).
    func withLock<T>(_ path: String, _ body: () throws(PluginError) -> T) throws(PluginError) -> T {
        cond.lock()
        while busy.contains(path) { cond.wait() }
        busy.insert(path)
        cond.unlock()
        defer {
            cond.lock()
            busy.remove(path)
            cond.broadcast()
            cond.unlock()
        }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd < 0 { throw FileOps.failure("open", path) }
        defer { close(fd) } // releases the record lock
        var region = flock()
        region.l_type = Int16(F_WRLCK)
        region.l_whence = Int16(SEEK_SET)
        region.l_start = 0
        region.l_len = 0 // the whole file
        while fcntl(fd, F_SETLKW, &region) != 0 {
            if errno != EINTR { throw FileOps.failure("fcntl(F_SETLKW) on", path) }
        }
        return try body()
    }
}
