import Dispatch
import FoundationEssentials
import Glibc
import Basics
import Synchronization
import PluginProtocol

/// How a cancellable call ended on a channel: the plugin's answer if one came, why the host stopped
/// waiting (nil: it answered first), and whether it answered within the stop grace after that.
struct CancellableReply {
    var reply: PluginReply?
    var stoppedBecause: BackendError.Code?
    var stoppedInTime: Bool
    /// A channel-level failure (the runner died): the message, as `unavailable`.
    var failure: String?
}

extension PluginInstance {
    /// Runs `operation` on its own thread; on the deadline or `cancel` (polled every 100 ms), marks it
    /// cancelled (the plugin sees `is_cancelled`) and waits up to `stopGrace` for it to return.
    func cancellableReply(_ operation: String, _ request: Data, timeout: Double?, stopGrace: Double,
                          cancel: (@Sendable () -> Bool)?) -> CancellableReply {
        let context = loaded.context
        let callId = context.nextCallId()
        let mailbox = Mailbox()
        let done = mailbox.done
        PluginCallThreads.shared.run({ [self] in
            let reply = self.invokeNow(operation, request, callId: callId)
            let abandoned = mailbox.state.withLock { state in
                state.outcome = reply
                return state.abandoned
            }
            if abandoned {
                context.forget(callId)
                DetachedPluginWork.shared.ended()
            }
        }, thenSignal: done)
        let why = CancellableWait.until(done, timeout: timeout, cancel: cancel)
        guard let why else { return CancellableReply(reply: mailbox.state.withLock { $0.outcome }, stoppedBecause: nil, stoppedInTime: true) }
        context.cancel(callId)
        let stopped = done.wait(timeout: .now() + CancellableWait.nanos(stopGrace)) == .success
        let answered: PluginReply? = mailbox.state.withLock { state in
            if state.outcome == nil {
                state.abandoned = true
                DetachedPluginWork.shared.began()   // under the mailbox lock: before the thread can see `abandoned`
            }
            return state.outcome
        }
        if answered != nil { context.forget(callId) }
        return CancellableReply(reply: nil, stoppedBecause: why, stoppedInTime: stopped || answered != nil)
    }
}

extension RemotePluginChannel {
    /// The same over the runner: a `cancel` frame on the deadline or `cancel`; a runner whose plugin
    /// has not returned within `stopGrace` is stopped (and restarted by the next call).
    func cancellableReply(_ operation: String, _ request: Data, timeout: Double?, stopGrace: Double,
                          cancel: (@Sendable () -> Bool)?) -> CancellableReply {
        let call: (RunnerConnection, RunnerConnection.Pending, UInt64)
        do throws(BackendError) { call = try startCall(operation, request, timeout: nil) } catch {
            return CancellableReply(reply: nil, stoppedBecause: nil, stoppedInTime: true, failure: error.message)
        }
        let (connection, pending, id) = call
        if let why = CancellableWait.until(pending.done, timeout: timeout, cancel: cancel) {
            pending.finish(.abandoned)
            connection.send(RunnerHeader(.cancel, id: id))
            let stopped = pending.returned.wait(timeout: .now() + CancellableWait.nanos(stopGrace)) == .success
            if !stopped {
                connection.stop(reason: "The plugin \(plugin.name) (backend \(backend)) was stopped because a cancelled '\(operation)' call did not return within \(PluginInstance.seconds(stopGrace)) s; its runner will be restarted.",
                                teardown: .gracefulShutDown(allowed: 2))
            }
            return CancellableReply(reply: nil, stoppedBecause: why, stoppedInTime: stopped)
        }
        switch pending.outcome.withLock({ $0 }) {
        case .reply(let reply)?: return CancellableReply(reply: reply, stoppedBecause: nil, stoppedInTime: true)
        case .failed(let message)?: return CancellableReply(reply: nil, stoppedBecause: nil, stoppedInTime: true, failure: message)
        case .abandoned?, nil: return CancellableReply(reply: nil, stoppedBecause: nil, stoppedInTime: true, failure: "The host lost the answer of a plugin call.")
        }
    }
}

/// Waiting for a call in slices, so a caller's cancellation is noticed within 100 ms.
enum CancellableWait {
    static func nanos(_ seconds: Double) -> DispatchTimeInterval { .nanoseconds(Int(max(0, min(seconds, 1e6)) * 1e9)) }

    /// Nil once `done` is signalled; `.timeout` past `timeout`; `.cancelled` once `cancel` says so.
    static func until(_ done: DispatchSemaphore, timeout: Double?, cancel: (@Sendable () -> Bool)?) -> BackendError.Code? {
        let deadline = timeout.map { DispatchTime.now() + nanos($0) } ?? .distantFuture
        while true {
            let slice = min(deadline, DispatchTime.now() + .milliseconds(cancel == nil ? 60_000 : 100))
            if done.wait(timeout: slice) == .success { return nil }
            if DispatchTime.now() >= deadline { return .timeout }
            if cancel?() == true { return .cancelled }
        }
    }
}
