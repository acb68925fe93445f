import CLocalVM
import FoundationEssentials
import Basics
import Glibc
import PluginKit

/// The cgroups of LocalVM sandboxes: v1 memory, pids, cpu and freezer for limits (the controllers
/// that work on these hosts) and a controller-less v2 cgroup whose `cgroup.kill` ends a sandbox.
struct CgroupLayout: Sendable {
    /// Where the hierarchies are mounted.
    static let root = "/sys/fs/cgroup"
    static let v1Controllers = ["memory", "pids", "cpu", "freezer"]
    static let v2Name = "unified"

    /// The `cgroup_parent` name under each hierarchy.
    let parent: String

    /// Every hierarchy directory (v1 ones first, v2 last).
    /// How many leading `cgroup.procs` fds of `openProcs` an exec's command joins itself rather than
    /// its helper: the memory cgroup comes first (`v1Controllers`), and the helper must stay out of it.
    static let commandOnlyCgroups = v1Controllers.first == "memory" ? 1 : 0

    var hierarchies: [String] { (Self.v1Controllers + [Self.v2Name]).map { Self.root + "/" + $0 } }

    /// `<hierarchy>/<parent>` for every hierarchy.
    var parentDirs: [String] { hierarchies.map { $0 + "/" + parent } }

    /// The cgroup directories of one sandbox, in every hierarchy.
    func dirs(_ id: String) -> [String] { parentDirs.map { $0 + "/" + id } }

    /// The v2 cgroup of one sandbox (for cgroup.kill).
    func v2Dir(_ id: String) -> String { Self.root + "/" + Self.v2Name + "/" + parent + "/" + id }

    func dir(_ controller: String, _ id: String) -> String { Self.root + "/" + controller + "/" + parent + "/" + id }

    /// Checks the hierarchies exist; a missing one is a host that cannot run LocalVM sandboxes.
    func checkAvailable() throws(PluginError) {
        for h in hierarchies where !FileOps.isDirectory(h) {
            throw PluginError(.unavailable, "The cgroup hierarchy \(h) is not mounted; localvm needs cgroup v1 memory, pids, cpu, freezer and the v2 tree at \(Self.root)/\(Self.v2Name).")
        }
    }

    /// Creates the sandbox's cgroups and writes its limits.
    func create(_ id: String, limits: ResourceLimits) throws(PluginError) {
        for dir in dirs(id) {
            let parentDir = (dir).deletingLastPathComponent
            // A concurrent destroy may remove an empty parent between the two mkdirs: try twice.
            var created = false
            for _ in 0..<2 where !created {
                try FileOps.mkdir(parentDir)
                if Glibc.mkdir(dir, 0o755) == 0 { created = true }
                else if errno == EEXIST {
                    throw PluginError(.conflict, "The cgroup \(dir) already exists: a sandbox with this id is already on this host.")
                } else if errno != ENOENT { throw FileOps.failure("mkdir", dir) }
            }
            if !created { throw FileOps.failure("mkdir", dir, ENOENT) }
        }
        let memory = dir("memory", id), pids = dir("pids", id), cpu = dir("cpu", id)
        if let bytes = limits.memoryBytes {
            try FileOps.writeKnob(memory + "/memory.limit_in_bytes", "\(bytes)")
            // Without swap accounting this file is absent; with it, swap must not bypass the limit.
            if FileOps.exists(memory + "/memory.memsw.limit_in_bytes") {
                try FileOps.writeKnob(memory + "/memory.memsw.limit_in_bytes", "\(bytes)")
            }
        }
        try FileOps.writeKnob(pids + "/pids.max", "\(limits.pids ?? LocalVMDefaults.pids)")
        if let cpus = limits.cpus {
            let period = 100_000
            try FileOps.writeKnob(cpu + "/cpu.cfs_period_us", "\(period)")
            try FileOps.writeKnob(cpu + "/cpu.cfs_quota_us", "\(max(1000, Int((cpus * Double(period)).rounded())))")
        }
    }

    /// Opens `cgroup.procs` of every cgroup of the sandbox for writing (O_CLOEXEC).
    func openProcs(_ id: String) throws(PluginError) -> [Int32] {
        var fds: [Int32] = []
        for dir in dirs(id) {
            let path = dir + "/cgroup.procs"
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            if fd < 0 {
                let e = errno
                fds.forEach { close($0) }
                if e == ENOENT { throw PluginError(.conflict, "The cgroup \(dir) of the sandbox is missing.") }
                throw FileOps.failure("open", path, e)
            }
            fds.append(fd)
        }
        return fds
    }

    /// Whether any cgroup directory of the sandbox exists.
    func exists(_ id: String) -> Bool { dirs(id).contains { FileOps.exists($0) } }

    /// Sandbox ids that have a cgroup directory in any hierarchy.
    func listIds() -> Set<String> {
        var ids = Set<String>()
        for p in parentDirs {
            for name in FileOps.list(p) where FileOps.isDirectory(p + "/" + name) { ids.insert(name) }
        }
        return ids
    }

    /// Host pids listed in the sandbox's cgroups (any hierarchy).
    func pids(_ id: String) -> Set<Int32> {
        var result = Set<Int32>()
        for dir in dirs(id) {
            guard let text = FileOps.readText(dir + "/cgroup.procs") else { continue }
            for line in text.split(separator: "\n") { if let p = Int32(line) { result.insert(p) } }
        }
        return result
    }

    /// Kills everything in the sandbox's cgroups and waits until they are empty.
    func killAll(_ id: String) throws(PluginError) {
        // Frozen tasks (a snapshot cut short by a crash) take no signal, not even SIGKILL, until thawed.
        try? thaw(id)
        let v2 = v2Dir(id)
        if FileOps.exists(v2) {
            let rc = clvm_cgroup_kill_wait(v2, 5000)
            if rc == 1 { throw PluginError(.internal, "The processes of sandbox \(id) did not exit within 5 seconds of cgroup.kill.") }
            if rc < 0 && errno != ENOENT { throw FileOps.failure("cgroup.kill in", v2) }
        }
        // Anything only in a v1 cgroup (a process that joined it some other way): kill it one by one.
        for pid in pids(id) { ProcessIdentity.killAndWait(pid: pid, timeoutMs: 2000) }
    }

    /// Removes the sandbox's cgroup directories, then the parents if they became empty.
    func remove(_ id: String) throws(PluginError) {
        for dir in dirs(id) where FileOps.exists(dir) {
            // A just-killed task can hold a v1 cgroup for a moment after v2 reports it empty:
            // a short bounded retry, not a sleep-and-hope.
            var attempt = 0
            while rmdir(dir) != 0 {
                let e = errno
                if e == ENOENT { break }
                attempt += 1
                if e != EBUSY || attempt > 200 { throw FileOps.failure("rmdir", dir, e) }
                _ = poll(nil, 0, 5)
            }
        }
        for p in parentDirs { _ = rmdir(p) } // ENOTEMPTY when other sandboxes are there: fine
    }
}

/// Defaults for limits a request leaves open.
enum LocalVMDefaults {
    /// pids.max when the request names none: enough for real work, stops a fork bomb.
    static let pids = 4096
    /// The smallest pids limit a sandbox can run with (its init, its timer and one exec helper).
    static let minPids = 4
    /// The smallest memory limit accepted.
    static let minMemoryBytes: Int64 = 8 << 20
}
