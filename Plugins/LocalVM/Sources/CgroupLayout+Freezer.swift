import Dispatch
import FoundationEssentials
import Basics
import Glibc
import PluginKit

/// Quiescing a sandbox through its v1 `freezer` cgroup (for consistent snapshots).
///
/// v1 has no notification for freezer state changes (v2's `cgroup.events` has, but the v2 tree
/// here has no controllers), so freezing polls `freezer.state` for a bounded time. Frozen tasks
/// ignore even SIGKILL until thawed: whatever kills a sandbox must thaw it first (`killAll` does).
extension CgroupLayout {
    /// How long `freeze` waits for every task to stop before it gives up (and thaws).
    static let freezeTimeoutMs = 5000

    /// `<freezer>/<parent>/<id>/freezer.state`.
    func freezerStateFile(_ id: String) -> String { dir("freezer", id) + "/freezer.state" }

    /// The freezer state of the sandbox (`THAWED`, `FREEZING`, `FROZEN`), nil without a freezer cgroup.
    func freezerState(_ id: String) -> String? {
        FileOps.readText(freezerStateFile(id)).map { $0.trimmed() }
    }

    /// Freezes every task of the sandbox and waits until the kernel reports `FROZEN`.
    /// On failure the sandbox is thawed again before the error is thrown.
    func freeze(_ id: String, timeoutMs: Int = CgroupLayout.freezeTimeoutMs) throws(PluginError) {
        let file = freezerStateFile(id)
        guard FileOps.exists(file) else {
            throw PluginError(.conflict, "The sandbox \(id) has no freezer cgroup, so it cannot be quiesced for a snapshot.")
        }
        // A monotonic bound on a kernel wait, not a lifecycle decision: the host clock is not wanted here.
        let start = DispatchTime.now().uptimeNanoseconds
        let limit = UInt64(timeoutMs) * 1_000_000
        do throws(PluginError) {
            while true {
                // Writing FROZEN again while FREEZING retries the tasks that were not stopped yet.
                try FileOps.writeKnob(file, "FROZEN")
                if freezerState(id) == "FROZEN" { return }
                if DispatchTime.now().uptimeNanoseconds - start > limit {
                    throw PluginError(.unavailable, "The processes of sandbox \(id) did not all stop within \(timeoutMs) ms of freezing (state \(freezerState(id) ?? "unknown")); try the snapshot again.")
                }
                _ = poll(nil, 0, 1)
            }
        } catch {
            try? thaw(id)
            throw error
        }
    }

    /// Thaws the sandbox; a sandbox without a freezer cgroup has nothing to thaw.
    func thaw(_ id: String) throws(PluginError) {
        let file = freezerStateFile(id)
        guard FileOps.exists(file) else { return }
        // Thawing takes effect on the write; the re-read only guards against a racing freezer.
        for _ in 0..<3 {
            try FileOps.writeKnob(file, "THAWED")
            if freezerState(id) == "THAWED" || !FileOps.exists(file) { return }
        }
        throw PluginError(.internal, "The sandbox \(id) could not be thawed: \(file) reads \(freezerState(id) ?? "nothing").")
    }
}
