import Foundation
import Testing

/// kill -9 at every named step of create, destroy, expire --apply, snapshot and recreate (the
/// `SANDBOXER_TEST_PAUSE` hook stops the built binary exactly there), on real LocalVM sandboxes. After
/// each kill, (a) the next CLI command and (b) a `serve` already running, within one sweep round, must
/// leave every row ready or ended with a reason and nothing leaked (see `LocalVMLeakScan`).
@Suite(.serialized, .enabled(if: Machine.isRoot && Machine.hasBusybox && Machine.hasTool("sqlite3"),
                             "needs root, busybox-static and sqlite3 (apt-get install busybox-static sqlite3)"))
struct FaultInjectionTests {
    /// One step to kill at: what to make first, and the command that reaches the step.
    struct Step: CustomStringConvertible {
        var step: String
        /// Sandboxes created before the command runs.
        var sandboxes: Int
        /// The command, given the ids made first.
        var command: @Sendable ([String]) -> [String]
        var env: [String: String] = [:]
        var label: String?
        /// The profile the sandboxes are made from.
        var profile = "default"
        /// Take a snapshot of the first sandbox first; its id follows the sandbox ids.
        var snapshotFirst = false
        var description: String { label ?? step }
    }

    /// Who must finish the interrupted work.
    enum Recovery: String { case nextCommand = "the next command", serve = "a running serve" }

    static let steps: [Step] = {
        var steps: [Step] = []
        for s in ["create.after-intent", "create.after-backend", "create.before-commit"] {
            steps.append(Step(step: s, sandboxes: 0, command: { _ in ["create"] }))
        }
        for s in ["destroy.after-intent", "destroy.after-backend", "destroy.before-commit"] {
            steps.append(Step(step: s, sandboxes: 1, command: { ["destroy", $0[0]] }))
        }
        // expire --apply on two due sandboxes (the clock of the command only is moved past their TTL):
        // killed on the first one, per step of its expiry and destroy, and between the two.
        for s in ["expire.after-mark", "destroy.after-intent", "destroy.after-backend", "destroy.before-commit", "expire.after-sandbox"] {
            steps.append(Step(step: s, sandboxes: 2, command: { _ in ["expire", "--apply"] },
                              env: ["SANDBOXER_CLOCK_OFFSET": "2h"], label: "expire --apply at \(s)"))
        }
        // The same on a profile with `on_expire: snapshot`: the snapshot the expiry takes is killed too.
        for s in ["expire.after-mark", "snapshot.after-intent", "snapshot.after-backend", "snapshot.before-commit", "destroy.after-intent"] {
            steps.append(Step(step: s, sandboxes: 2, command: { _ in ["expire", "--apply"] },
                              env: ["SANDBOXER_CLOCK_OFFSET": "2h"], label: "expire --apply (on_expire: snapshot) at \(s)", profile: "keeper"))
        }
        for s in ["snapshot.after-intent", "snapshot.after-backend", "snapshot.before-commit"] {
            steps.append(Step(step: s, sandboxes: 1, command: { ["snapshot", $0[0]] }))
        }
        for s in ["snapshot-delete.after-intent", "snapshot-delete.after-backend"] {
            steps.append(Step(step: s, sandboxes: 1, command: { ["snapshot-rm", $0[1]] }, snapshotFirst: true))
        }
        for s in ["recreate.after-intent", "recreate.after-old-destroyed", "recreate.after-new-created", "recreate.before-commit"] {
            steps.append(Step(step: s, sandboxes: 1, command: { ["recreate", $0[0]] }))
        }
        return steps
    }()

    @Test(arguments: [Recovery.nextCommand, Recovery.serve])
    func killNineAtEveryStepLeavesNothingBehind(_ recovery: Recovery) throws {
        // Only listed steps run when FAULT_STEPS names some (a comma list), to chase one finding.
        let only = Set((ProcessInfo.processInfo.environment["FAULT_STEPS"] ?? "").split(separator: ",").map(String.init))
        var failures: [String] = []
        var recoveries: [Double] = []
        for step in Self.steps where only.isEmpty || only.contains(step.step) {
            var problems: [String]
            do { problems = try run(step, recovery: recovery, took: &recoveries) } catch { problems = ["\(error)"] }
            if !problems.isEmpty { failures.append("\(step) (\(recovery.rawValue)): " + problems.joined(separator: "; ")) }
        }
        // The figure: from the kill to the end of the recovery (the next command's run, or the sweep round).
        print("faults: kill -9 at \(recoveries.count) steps, recovered by \(recovery.rawValue): \(Latency.summary(recoveries))")
        let report = "\(failures.count) step(s) left something behind:\n" + failures.joined(separator: "\n")
        #expect(failures.isEmpty, "\(report)")
    }

    /// Runs one step: set up, pause the command at the step, kill -9, recover, then look.
    /// Appends the seconds from the kill to the end of the recovery to `took`.
    func run(_ step: Step, recovery: Recovery, took: inout [Double]) throws -> [String] {
        var cli = try CLIRunner()
        let parent = "sbxfault-" + cli.home.suffix(8)
        try cli.useConfig(CLIRunner.localVMConfigHead(settings: ["cgroup_parent: \(parent)"]) + """
            profiles:
              default:
                backend: localvm
                resources: {memory: 256M, pids: 256}
                network: bridge
                ttl: {default: 1h, max: 24h}
              keeper:
                backend: localvm
                resources: {memory: 256M, pids: 256}
                network: bridge
                ttl: {default: 1h, max: 24h}
                on_expire: snapshot
            """)
        let scan = LocalVMLeakScan(home: cli.home, cgroupParent: parent)
        defer {
            // Whatever the outcome, nothing of this step stays on the machine.
            for row in (try? scan.rows()) ?? [] where row.state != "destroyed" { _ = try? cli.run(["destroy", row.id]) }
            scan.removeCgroupParents()
            try? FileManager.default.removeItem(atPath: cli.home)
        }
        var ids: [String] = []
        for _ in 0..<step.sandboxes {
            let created = try cli.run(["create", "--profile", step.profile, "--json"])
            guard created.status == 0, let id = try created.object()["id"] as? String else {
                return ["setup create failed: \(created.stderr)"]
            }
            ids.append(id)
        }
        if step.snapshotFirst {
            let snap = try cli.run(["snapshot", ids[0], "--json"])
            guard snap.status == 0, let id = try snap.object()["id"] as? String else { return ["setup snapshot failed: \(snap.stderr)"] }
            ids.append(id)
        }
        let serve = recovery == .serve ? try ServeProcess(cli) : nil
        defer { serve?.stop() }

        let fifo = cli.home + "/pause.fifo"
        guard mkfifo(fifo, 0o600) == 0 else { return ["mkfifo failed"] }
        var env = step.env
        env["SANDBOXER_TEST_PAUSE"] = step.step
        env["SANDBOXER_TEST_PAUSE_FIFO"] = fifo
        let running = try cli.start(step.command(ids), extraEnv: env)
        try? running.input.fileHandleForWriting.close()
        // Ready handshake: the step's name arrives once the command is paused there. A command that
        // ends without reaching the step closes nothing on the FIFO, so its exit is watched too.
        let exited = DispatchSemaphore(value: 0), woke = DispatchSemaphore(value: 0)
        let hasExited = LockedBox(false)
        Thread.detachNewThread { running.process.waitUntilExit(); hasExited.set(true); exited.signal(); woke.signal() }
        let reached = FIFOReader.read(fifo, woke: woke, writerExited: { hasExited.get() })
        guard reached == step.step else {
            kill(running.process.processIdentifier, SIGKILL)
            let out = try running.finish()
            return ["the command never reached the step (read '\(reached ?? "-")'; exit \(out.status): \(out.stderr))"]
        }
        var links = scan.leasedLinks()
        kill(running.process.processIdentifier, SIGKILL)
        exited.wait()
        guard running.process.terminationReason == .uncaughtSignal else { return ["the command was not killed"] }
        let killedAt = Date()

        switch recovery {
        case .nextCommand:
            let next = try cli.run(["list", "--all", "--json"])
            guard next.status == 0 else { return ["the next command failed: \(next.stderr)"] }
        case .serve:
            guard let serve, serve.waitForSweeps() else { return ["serve ran no sweep: \(serve?.stderr.text ?? "")"] }
        }
        took.append(Date().timeIntervalSince(killedAt))
        links.merge(scan.leasedLinks()) { a, _ in a }
        var problems = try scan.unsettled()
        // The backend's own inventory agrees: no orphan, no ghost, nothing stuck (a dry run). It also
        // loads the backend, whose start finishes the trash: a command killed while its background
        // removal ran leaves the rest of a destroyed sandbox's files there (plain files: mounts are
        // detached before the move), and `list` does not load backends. So the leak scan comes after it.
        let reap = try cli.run(["reap-stale", "--json"])
        if reap.status != 0 { problems.append("reap-stale failed: \(reap.stderr)") }
        else {
            let plan = try reap.object()
            for key in ["orphans", "ghosts", "stuck"] where !((plan[key] as? [Any])?.isEmpty ?? false) {
                problems.append("reap-stale lists \(key): \(plan[key] ?? "-")")
            }
        }
        return problems + (try scan.leaks(links: links))
    }
}

/// Reads what a writer puts into a FIFO, unless the writer dies without opening it.
enum FIFOReader {
    /// Reads `path` to its end. `woke` is signalled by the reader and also by whoever sees the writer
    /// exit; `writerExited` tells which.
    static func read(_ path: String, woke: DispatchSemaphore, writerExited: @escaping @Sendable () -> Bool) -> String? {
        let result = LockedBox<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            // Opening for reading blocks until the writer opens: that is the handshake.
            if let handle = FileHandle(forReadingAtPath: path) {
                result.set(String(decoding: handle.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
            }
            done.signal()
            woke.signal()
        }
        woke.wait()
        if writerExited() {
            // Unblock the reader's open with a writer of our own (no effect once it has read).
            let fd = open(path, O_WRONLY | O_NONBLOCK)
            if fd >= 0 { close(fd) }
        }
        done.wait()
        return result.get()
    }
}

/// A value shared between threads under a lock.
final class LockedBox<T>: @unchecked Sendable {
    // @unchecked: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value: T
    init(_ value: T) { self.value = value }
    func get() -> T { lock.lock(); defer { lock.unlock() }; return value }
    func set(_ new: T) { lock.lock(); value = new; lock.unlock() }
    /// Changes the value under the lock and returns what `change` returns.
    func update<R>(_ change: (inout T) -> R) -> R { lock.lock(); defer { lock.unlock() }; return change(&value) }
}
