import Foundation
import Glibc
import PluginKit

/// The per-build work dirs under `<data_dir>/builds`, each held by an advisory lock for as long as
/// its build runs, so dirs left by a host that was killed (kill -9, a crash) can be told from live
/// ones and removed by the next build.
///
/// The lock's descriptor is inherited by packer and everything it starts (it is not close-on-exec),
/// so a dir stays locked while any process of its build is still running, even after its host died.
enum BuildDirs {
    static let lockName = ".lock"

    /// Makes `<builds>/<id>` and locks it; returns the lock's descriptor (close it to release).
    static func create(_ dir: String) throws(PluginError) -> Int32 {
        guard mkdir(dir, 0o700) == 0 else {
            let e = errno
            throw PluginError(e == EEXIST ? .conflict : .internal,
                              e == EEXIST ? "A build with this id is running or was interrupted (\(dir) exists)."
                                          : "Cannot make \(dir): \(String(cString: strerror(e))).")
        }
        // Not O_CLOEXEC on purpose: packer inherits it (see the type's comment).
        let fd = open(dir + "/" + lockName, O_RDWR | O_CREAT | O_NOFOLLOW, 0o600)
        guard fd >= 0, flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            throw PluginError(.internal, "Cannot lock \(dir): \(String(cString: strerror(errno))).")
        }
        return fd
    }

    /// Removes every dir under `builds` whose lock nobody holds (its build is over and its host
    /// gone); returns their names. Dirs without a lock file are left alone (one may be being made).
    @discardableResult
    static func sweep(_ builds: String) -> [String] {
        var removed: [String] = []
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: builds)) ?? []).sorted() {
            let dir = builds + "/" + name
            let fd = open(dir + "/" + lockName, O_RDWR | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { continue }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                try? FileManager.default.removeItem(atPath: dir)
                removed.append(name)
            }
            close(fd)
        }
        return removed
    }
}
