import FoundationEssentials
import Glibc
import PluginKit

/// The size limit of a sandbox's writable layer (`resources.disk_bytes`).
///
/// A tmpfs of that size is mounted at `<sandbox dir>/disk` in the host's mount namespace and holds
/// the overlay's upper and work dirs: a write past the size answers ENOSPC
/// inside, `df /` inside shows the limit, and nothing the sandbox writes reaches the filesystem of
/// the data dir (or of the store). Measured on the test VM (load ~16): a tmpfs mount costs well
/// under a millisecond, a loop-mounted ext4 image 0.1 s of mkfs plus 0.3–0.5 s of mount, 30–70×
/// a whole create, so tmpfs it is. Its pages are memory: they are charged to the memory cgroup of
/// the sandbox process that wrote them (so `resources.memory_bytes` also bounds them) and they stay
/// until destroy unmounts the tmpfs, also while the sandbox is stopped.
extension LocalVMPlugin {
    /// Smallest accepted `disk_bytes`.
    static let minDiskBytes: Int64 = 1 << 20

    /// Mounts the sandbox's disk and makes it the home of upper/ and work/.
    func mountDisk(_ paths: SandboxLayout, bytes: Int64) throws(PluginError) {
        try FileOps.mkdir(paths.disk, mode: 0o711)
        // One inode per 4 KiB of data (a small file takes a page anyway), at least 4096: inodes are
        // kernel memory too, so their number is bounded with the size.
        let inodes = max(Int64(4096), bytes / 4096)
        let options = "size=\(bytes),nr_inodes=\(inodes),mode=0711,uid=0,gid=0"
        if Glibc.mount("tmpfs", paths.disk, "tmpfs", UInt(MS_NOSUID | MS_NODEV), options) != 0 {
            throw FileOps.failure("mount of the size-limited tmpfs on", paths.disk)
        }
    }

    /// The size of the sandbox's disk, or nil when it has none (or it is not mounted).
    func diskLimit(_ paths: SandboxLayout) -> Int64? {
        guard FileOps.isDirectory(paths.disk) else { return nil }
        // A mount point: another device than the sandbox dir it sits in.
        var diskDev = stat(), dirDev = stat(), fs = statvfs()
        guard stat(paths.disk, &diskDev) == 0, stat(paths.dir, &dirDev) == 0, diskDev.st_dev != dirDev.st_dev,
              statvfs(paths.disk, &fs) == 0
        else { return nil }
        return Int64(fs.f_blocks) * Int64(fs.f_frsize)
    }
}
