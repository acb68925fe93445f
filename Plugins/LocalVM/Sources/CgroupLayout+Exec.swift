import FoundationEssentials
import Glibc
import PluginKit

extension CgroupLayout {
    /// The cgroup fds of an exec in the fast mode of `clvm_exec_spec.cgroup_fast`: each v1
    /// hierarchy's `tasks` file (O_WRONLY), then the v2 cgroup's directory (O_RDONLY|O_DIRECTORY), which
    /// the exec helper is cloned into. All O_CLOEXEC; the caller closes them.
    ///
    /// Why not `cgroup.procs`: a write there moves a whole thread group under the kernel's threadgroup
    /// lock taken for writing, which waits for an RCU grace period: 16–35 ms per exec on this machine
    /// under load, measured (docs/performance.md, "LocalVM exec"). The helper and the command are
    /// single-threaded, so moving the calling thread through `tasks` moves the process, without that lock.
    func openExecTargets(_ id: String) throws(PluginError) -> [Int32] {
        var fds: [Int32] = []
        let v1 = parentDirs.dropLast().map { $0 + "/" + id + "/tasks" }
        let targets = v1.map { ($0, O_WRONLY | O_CLOEXEC) } + [(dirs(id).last ?? "", O_RDONLY | O_DIRECTORY | O_CLOEXEC)]
        for (path, flags) in targets {
            let fd = open(path, flags)
            if fd < 0 {
                let e = errno
                fds.forEach { close($0) }
                if e == ENOENT { throw PluginError(.conflict, "The cgroup of the sandbox at \(path) is missing.") }
                throw FileOps.failure("open", path, e)
            }
            fds.append(fd)
        }
        return fds
    }
}
