import CLocalVM
import Foundation
import Testing

/// What one test's LocalVM sandboxes may have left on the host, and the store's rows to judge it by.
/// The test's config gives the backend a cgroup parent and a network pool of its own, so everything
/// found under them belongs to this test.
struct LocalVMLeakScan {
    let home: String
    let cgroupParent: String

    var dataDir: String { home + "/data" }
    var backendDir: String { dataDir + "/backends/localvm" }
    var leasesDir: String { backendDir + "/network/leases" }

    /// One sandbox row as the store holds it.
    struct Row: Equatable { var id: String; var state: String; var reason: String }
    struct SnapshotRow: Equatable { var id: String; var state: String }

    /// The store's rows, read with the sqlite3 tool: reading through the CLI would reconcile first,
    /// which is what a serve-side check must not do.
    func rows() throws -> [Row] {
        try query("SELECT id || '|' || state || '|' || IFNULL(reason, '') FROM sandboxes ORDER BY id;").map {
            let f = $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            return Row(id: f[0], state: f.count > 1 ? f[1] : "", reason: f.count > 2 ? f[2] : "")
        }
    }

    func snapshotRows() throws -> [SnapshotRow] {
        try query("SELECT id || '|' || state FROM snapshots ORDER BY id;").map {
            let f = $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            return SnapshotRow(id: f[0], state: f.count > 1 ? f[1] : "")
        }
    }

    private func query(_ sql: String) throws -> [String] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["sqlite3", "-readonly", dataDir + "/sandboxer.db", sql]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw ServeProcess.Failure(message: "sqlite3 failed on \(sql)") }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// The host-side link named in each lease (sandbox id → link), read while the links exist.
    func leasedLinks() -> [String: String] {
        var links: [String: String] = [:]
        for file in (try? FileManager.default.contentsOfDirectory(atPath: leasesDir)) ?? [] where file.hasSuffix(".json") {
            guard let data = FileManager.default.contents(atPath: leasesDir + "/" + file),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let link = object["link"] as? String else { continue }
            links[String(file.dropLast(5))] = link
        }
        return links
    }

    /// Rows that are neither ready nor ended with a reason, and snapshots left mid-way.
    func unsettled() throws -> [String] {
        var found: [String] = []
        for row in try rows() {
            switch row.state {
            case "ready": break
            case "destroyed", "failed": if row.reason.isEmpty { found.append("row \(row.id) is \(row.state) without a reason") }
            default: found.append("row \(row.id) is \(row.state)")
            }
        }
        for snap in try snapshotRows() where !["ready", "failed", "deleted"].contains(snap.state) {
            found.append("snapshot \(snap.id) is \(snap.state)")
        }
        return found
    }

    /// Everything on the host that belongs to no ready row: processes (zombies ignored), mounts, cgroups,
    /// links (`links`: every link seen during the test), leases, sandbox dirs, the backend's trash (once
    /// its background removal is done), snapshot dirs of rows that are not ready, and staging files (`.tmp-*`).
    func leaks(links: [String: String]) throws -> [String] {
        let fm = FileManager.default
        let live = Set(try rows().filter { $0.state == "ready" }.map(\.id))
        let readySnapshots = Set(try snapshotRows().filter { $0.state == "ready" }.map(\.id))
        var found: [String] = []
        // Destroyed sandboxes' directories (and the mounts under them) are removed in the background
        // (the plugin's trash): wait for that first (inotify, bounded); anything still there is a leak.
        if clvm_wait_dir_empty(backendDir + "/trash", 10_000) != 0 {
            for entry in (try? fm.contentsOfDirectory(atPath: backendDir + "/trash")) ?? [] { found.append("trash/\(entry)") }
        }
        // Processes in this backend's cgroups (the pids hierarchy holds every sandbox process).
        for pid in (try? fm.contentsOfDirectory(atPath: "/proc")) ?? [] where Int(pid) != nil {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let state = stat[stat.index(close, offsetBy: 2)...].prefix(1)
            if state == "Z" || state == "X" { continue }
            guard let cgroups = try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8) else { continue }
            for line in cgroups.split(separator: "\n") {
                guard let range = line.range(of: "/\(cgroupParent)/") else { continue }
                let id = String(line[range.upperBound...].prefix { $0 != "/" })
                if !live.contains(id) { found.append("process \(pid) (state \(state)) in the cgroup of \(id)"); break }
            }
        }
        let mountinfo = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        for line in mountinfo.split(separator: "\n") where line.contains(dataDir) {
            if !live.contains(where: { line.contains("/" + $0) }) { found.append("mount: \(line)") }
        }
        for controller in ["memory", "pids", "cpu", "freezer", "unified"] {
            let parent = "/sys/fs/cgroup/\(controller)/\(cgroupParent)"
            for entry in (try? fm.contentsOfDirectory(atPath: parent)) ?? [] where entry.hasPrefix("sbx-") && !live.contains(entry) {
                found.append("cgroup \(controller)/\(cgroupParent)/\(entry)")
            }
        }
        for (id, link) in links where !live.contains(id) && fm.fileExists(atPath: "/sys/class/net/" + link) {
            found.append("link \(link) of \(id)")
        }
        for file in (try? fm.contentsOfDirectory(atPath: leasesDir)) ?? [] where !live.contains(String(file.dropLast(5))) {
            found.append("lease \(file)")
        }
        for entry in (try? fm.contentsOfDirectory(atPath: backendDir + "/sandboxes")) ?? [] where !live.contains(entry) {
            found.append("directory sandboxes/\(entry)")
        }
        for entry in (try? fm.contentsOfDirectory(atPath: backendDir + "/snapshots")) ?? [] where !readySnapshots.contains(entry) {
            found.append("directory snapshots/\(entry)")
        }
        for path in (try? fm.subpathsOfDirectory(atPath: backendDir)) ?? [] where (path as NSString).lastPathComponent.hasPrefix(".tmp-") {
            found.append("staging \(path)")
        }
        return found
    }

    /// Removes what the test made on the host outside its home: the cgroup parents (empty by now).
    func removeCgroupParents() {
        for controller in ["memory", "pids", "cpu", "freezer", "unified"] {
            rmdir("/sys/fs/cgroup/\(controller)/\(cgroupParent)")
        }
    }
}
