import Basics
import CLocalVM
import Glibc
import PluginKit

/// The user namespaces that carry the idmapped layers' maps, one per id slice, made on the first
/// create in that slice and kept by this instance.
///
/// Making one per create cost a throwaway child in a new user namespace, its two map writes and
/// the wait for that child to be scheduled and exit: 2.8–5 ms of a launch in interleaved runs at
/// load 8–9 (docs/performance.md, "LocalVM create (session 6)"). A namespace here holds no
/// process, mount or file: it is an fd of this process whose maps (`uid_base → slice`, the same
/// for every sandbox that ever holds that slice) are copied into each idmapped mount when it is
/// made, so reusing it maps a sandbox onto its own slice only, exactly as a fresh one would. The
/// fds close with the instance (at most one per slice this process used).
final class IdmapNamespaces: @unchecked Sendable {
    // @unchecked: `fds` is only touched with `lock` held.
    private let lock = Lock()
    private var fds: [String: Int32] = [:]

    /// An fd of a user namespace whose uid_map and gid_map are `map` (an `idmapLine`), made on
    /// first use. It stays open until the instance ends.
    func fd(for map: String) throws(PluginError) -> Int32 {
        try lock.withLock { () throws(PluginError) -> Int32 in
            if let fd = fds[map] { return fd }
            var err = [CChar](repeating: 0, count: 256)
            let fd = clvm_idmap_userns_open(map, &err, err.count)
            guard fd >= 0 else {
                throw PluginError(.internal, "Making the user namespace of the idmapped layers failed: \(Launcher.text(err)).")
            }
            fds[map] = fd
            return fd
        }
    }

    /// How many namespaces are kept (for tests).
    var count: Int { lock.withLock { fds.count } }

    deinit {
        for fd in fds.values { close(fd) }
    }
}
