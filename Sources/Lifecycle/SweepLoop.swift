import FoundationEssentials
import Glibc
import Core
import Basics

/// What `serve` runs on its timer: the reconcile of interrupted work (the one each CLI command runs
/// first), the expiry sweep (`expire --apply`, which also sends due expiry warnings), snapshot
/// retention and the outbox retention (`prune-events --apply`), every `interval` until `stop` fires. The owner decides what to
/// print or count: each finished item and each failed sweep is handed to `report`.
public final class SweepLoop: Sendable {
    /// One thing a sweep did, or failed to do.
    public enum Report: Sendable {
        /// A sandbox whose create or destroy was interrupted (its process is gone), now finished.
        case reconciled(Sandbox)
        /// A snapshot whose capture was interrupted, now marked failed and its staging cleaned.
        case reconciledSnapshot(Snapshot)
        /// A sandbox the expiry sweep handled (the item carries its outcome and rule).
        case expired(ExpiryItem)
        /// A snapshot retention handled.
        case pruned(PruneItem)
        /// The outbox retention deleted old events or delivered webhook rows (only reported when it did).
        case prunedOutbox(OutboxPruneReport)
        /// A sweep that failed as a whole; the loop goes on at the next interval.
        case failed(sweep: String, SandboxerError)
    }

    private let service: SandboxService
    private let interval: Double
    private let stop: StopSignal
    private let report: @Sendable (Report) -> Void

    public init(service: SandboxService, interval: TTLDuration, stop: StopSignal,
                report: @escaping @Sendable (Report) -> Void) {
        self.service = service
        self.interval = Double(interval.seconds)
        self.stop = stop
        self.report = report
    }

    /// Runs one round of every sweep now. The reconcile goes first, so a row a killed process left
    /// destroying or provisioning is finished within one round, not only at the next start.
    public func sweepOnce() {
        FaultPoint.reach("sweep.start")
        defer { FaultPoint.reach("sweep.end") }
        do throws(SandboxerError) {
            for sandbox in try service.reconcileInterrupted() { report(.reconciled(sandbox)) }
            for snapshot in try service.reconcileInterruptedSnapshots() { report(.reconciledSnapshot(snapshot)) }
            _ = try service.reconcileInterruptedBuilds()   // their rows say failed; nothing to report per sandbox
        } catch {
            report(.failed(sweep: "reconcile", error))
        }
        do throws(SandboxerError) {
            for item in try service.expire(apply: true) { report(.expired(item)) }
        } catch {
            report(.failed(sweep: "expiry", error))
        }
        do throws(SandboxerError) {
            for item in try service.pruneSnapshots(apply: true) { report(.pruned(item)) }
        } catch {
            report(.failed(sweep: "snapshot retention", error))
        }
        do throws(SandboxerError) {
            let pruned = try service.pruneOutbox(apply: true)
            if pruned.counts.events > 0 || pruned.counts.webhookDeliveries > 0 { report(.prunedOutbox(pruned)) }
        } catch {
            report(.failed(sweep: "event retention", error))
        }
    }

    /// Starts the loop on its own thread: a round at once, then one every interval. The wait is on
    /// the stop signal, so shutdown never waits out a whole interval.
    public func start() {
        let thread = PosixThread { [self] in
            repeat { sweepOnce() } while !stop.wait(seconds: interval)
        }
        thread.name = "expiry-sweep"
        thread.start()
    }
}
