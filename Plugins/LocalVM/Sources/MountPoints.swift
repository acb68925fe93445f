import Glibc
import PluginKit

/// The mount points a launch mounts on, shared by every sandbox of a data dir: `<data_dir>/mnt/`
/// with `rootfs/` (the overlay), `lower/` and `layers/` (the idmapped layers) and `ctl/` (the control
/// tmpfs before it is bound at `/run/sandboxer`).
///
/// They are mounted on only inside each sandbox's own (private) mount namespace, so one empty set
/// serves all of them at once and stays empty on the host. Per sandbox they were four directories
/// made and removed with it: on the ext4 of /tmp without a journal each new inode costs 0.2-0.9 ms
/// after a create/destroy loop freed many (docs/performance.md, "Create and destroy without
/// per-sandbox inodes (session 8)").
enum MountPoints {
    /// The directories under `<data_dir>/mnt`; `ctl` last, so its presence means all are there.
    static let names = ["rootfs", "lower", "layers", "ctl"]

    /// Makes the mount dir and its points when one is missing (the first create over a data dir;
    /// afterwards one `stat`). Concurrent creates may both make them: EEXIST is success.
    static func ensure(_ dir: String) throws(PluginError) {
        if FileOps.isDirectory(dir + "/" + names[names.count - 1]) { return }
        // 0711 like the sandbox dirs: the sandbox's shifted root must search it, nothing more.
        try FileOps.mkdirs(dir, mode: 0o711)
        for name in names { _ = try FileOps.mkdir(dir + "/" + name, mode: 0o755) }
    }
}
