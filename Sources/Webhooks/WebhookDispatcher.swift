import Dispatch
import FoundationEssentials
import Glibc
import Core
import Config
import Store
import HTTPClient
import Basics
import PluginProtocol
import Synchronization

/// One attempt to send, as the dispatcher hands it to its sender.
public struct WebhookAttempt: Sendable {
    public var sink: String
    public var url: String
    public var message: WebhookMessage
    /// Seconds the whole attempt may take.
    public var timeout: Double
}

/// What a sender got back: an HTTP status (any), or why there was none, as a sentence.
public enum WebhookSendResult: Sendable, Equatable {
    case status(Int)
    case failed(String)
}

/// What became of one attempt, for logs, metrics and tests.
public struct WebhookOutcome: Sendable, Equatable {
    public enum Result: Sendable, Equatable {
        case delivered(status: Int)
        /// Failed; due again at `at`.
        case retry(at: Date, error: String)
        /// Failed for the last allowed time: dead-lettered.
        case dead(error: String)
        /// Answered after another claimer took the delivery over (its lease ran out): nothing recorded.
        case superseded
    }

    public var sink: String
    public var seq: Int64
    public var eventType: String
    public var attempt: Int
    public var result: Result
}

/// Drains the events outbox into the configured webhook sinks: enqueue → claim (leased) → POST → mark.
///
/// `serve` runs one worker thread per sink (a slow receiver delays only its own sink), each woken
/// by a timer. Tests call `runOnce()` instead, with a `ManualClock` and a sender of their own.
public final class WebhookDispatcher: Sendable {
    public typealias Sender = @Sendable (WebhookAttempt) -> WebhookSendResult

    /// Seconds a lease outlasts an attempt's own timeout (claim, request set-up, recording the result).
    public static let leaseMargin: Double = 5
    /// Deliveries claimed per transaction: one, so a lease never waits behind other attempts.
    static let claimBatch = 1

    let store: SandboxStore
    let sinks: [WebhookSink]
    let secrets: [String: [UInt8]]
    let clock: any HostClock
    let sender: Sender
    let random: @Sendable () -> Double
    let pollInterval: Double
    let log: @Sendable (String) -> Void
    let observe: @Sendable (WebhookOutcome) -> Void

    /// Set once by `stop()`: no worker starts another attempt.
    private let stopping = Mutex(false)
    /// Wakes sleeping workers early (new work, or stop).
    private let wakeup = Condition()
    /// Signalled as each worker exits; `stop()` waits on it.
    private let exited = DispatchGroup()

    /// `secrets` maps each sink name to its resolved key (see `resolveSecrets`).
    public init(store: SandboxStore, sinks: [WebhookSink], secrets: [String: [UInt8]], clock: any HostClock,
                sender: @escaping Sender = WebhookDispatcher.httpSender(),
                random: @escaping @Sendable () -> Double = { Double.random(in: 0...1) },
                pollInterval: Double = 1,
                log: @escaping @Sendable (String) -> Void = { _ in },
                observe: @escaping @Sendable (WebhookOutcome) -> Void = { _ in }) {
        self.store = store; self.sinks = sinks; self.secrets = secrets; self.clock = clock; self.sender = sender
        self.random = random; self.pollInterval = pollInterval; self.log = log; self.observe = observe
    }

    /// Reads every sink's secret (literal, `env:` or `file:`); the error names the source, never the value.
    public static func resolveSecrets(_ sinks: [WebhookSink], environment: [String: String]) throws(ConfigError) -> [String: [UInt8]] {
        var secrets: [String: [UInt8]] = [:]
        for sink in sinks { secrets[sink.name] = try sink.secret.resolve(environment: environment, sink: sink.name) }
        return secrets
    }

    /// The production sender: a POST through libcurl, bounded by the attempt's timeout.
    public static func httpSender(client: HTTPClient? = nil) -> Sender {
        let client = client ?? HTTPClient(userAgent: "sandboxer-webhooks/\(SandboxerVersion.current)")
        return { attempt in
            do throws(HTTPClientError) {
                let response = try client.post(url: attempt.url, headers: attempt.message.headers, body: attempt.message.body,
                                               connectTimeout: attempt.timeout, timeout: attempt.timeout)
                return .status(response.status)
            } catch {
                return .failed(error.message)
            }
        }
    }

    /// Creates each sink's cursor at the end of the outbox if it is new. `serve` calls this before it
    /// accepts requests, so every event it writes afterwards is delivered.
    public func register() throws(StoreError) {
        for sink in sinks { try store.registerWebhookSink(sink.name) }
    }

    /// One pass over every sink on the calling thread: enqueue what is new, then send every due
    /// delivery once. What tests drive, step by step, with a manual clock.
    @discardableResult
    public func runOnce() -> [WebhookOutcome] {
        sinks.flatMap { pass($0) }
    }

    /// Starts one worker thread per sink; each runs a pass, then sleeps `pollInterval` (or until woken).
    public func start() {
        for sink in sinks {
            guard !isStopping else { return }
            exited.enter()
            let thread = PosixThread { [self] in
                defer { exited.leave() }
                while !isStopping {
                    pass(sink)
                    sleep(seconds: pollInterval)
                }
            }
            thread.name = "webhook-\(sink.name)"
            thread.start()
        }
    }

    /// Ends sleeps early so new events go out now rather than at the next tick.
    public func wake() {
        wakeup.lock()
        wakeup.broadcast()
        wakeup.unlock()
    }

    /// Stops the workers: no new attempt starts; an attempt in flight finishes or hits its timeout.
    /// Returns once every worker has exited (bounded by the longest sink timeout plus the lease margin).
    public func stop() {
        stopping.withLock { $0 = true }
        wake()
        let bound = Double(sinks.map(\.timeout.seconds).max() ?? 0) + Self.leaseMargin
        if exited.wait(timeout: .now() + bound) == .timedOut {
            log("sandboxer: webhook deliveries still in flight after \(Int(bound))s at shutdown; their leases will expire and another run retries them.\n")
        }
    }

    var isStopping: Bool { stopping.withLock { $0 } }

    private func sleep(seconds: Double) {
        wakeup.lock()
        if !isStopping { _ = wakeup.wait(until: Date().addingTimeInterval(seconds)) }
        wakeup.unlock()
    }

    /// Enqueue all new events for `sink`, then claim, send and record due deliveries one at a time.
    @discardableResult
    func pass(_ sink: WebhookSink) -> [WebhookOutcome] {
        var outcomes: [WebhookOutcome] = []
        do throws(StoreError) {
            while try store.enqueueWebhookDeliveries(sink: sink.name, now: clock.now(), accepts: sink.accepts).scanned > 0 {}
            let lease = Double(sink.timeout.seconds) + Self.leaseMargin
            while !isStopping {
                let claimed = try store.claimWebhookDeliveries(sink: sink.name, now: clock.now(), lease: lease, limit: Self.claimBatch)
                if claimed.isEmpty { break }
                for delivery in claimed { outcomes.append(try attempt(delivery, sink: sink)) }
            }
        } catch {
            log("sandboxer: webhook sink \(sink.name): \(error.message)\n")
        }
        return outcomes
    }

    /// Sends one claimed delivery and records what happened.
    private func attempt(_ delivery: WebhookDelivery, sink: WebhookSink) throws(StoreError) -> WebhookOutcome {
        let event = delivery.event
        let message = WebhookMessage(event: event, storeId: store.storeId, secret: secrets[sink.name] ?? [],
                                     attempt: delivery.attempts, now: clock.now())
        let sent = sender(WebhookAttempt(sink: sink.name, url: sink.url, message: message, timeout: Double(sink.timeout.seconds)))
        let now = clock.now()
        var outcome = WebhookOutcome(sink: sink.name, seq: event.seq, eventType: event.type, attempt: delivery.attempts,
                                     result: .superseded)
        let error: String
        let status: Int?
        switch sent {
        case .status(let code) where (200...299).contains(code):
            try store.markWebhookDelivered(sink: sink.name, seq: event.seq, status: code, now: now)
            outcome.result = .delivered(status: code)
            observe(outcome)
            return outcome
        case .status(let code):
            status = code
            error = "The receiver answered HTTP \(code)."
        case .failed(let reason):
            status = nil
            error = reason
        }
        let delay = sink.backoff.delay(afterAttempt: delivery.attempts, unit: random())
        let retryAt = now.addingTimeInterval(delay)
        let what = "webhook sink \(sink.name): event \(WebhookMessage.eventId(storeId: store.storeId, seq: event.seq)) (\(event.type)) attempt \(delivery.attempts)/\(sink.maxAttempts) failed: \(error)"
        switch try store.markWebhookFailed(sink: sink.name, seq: event.seq, attempt: delivery.attempts, status: status,
                                           error: error, retryAt: retryAt, maxAttempts: sink.maxAttempts, now: now) {
        case .dead?:
            outcome.result = .dead(error: error)
            log("sandboxer: \(what) Giving up: it is dead-lettered (sandboxer webhook-failures lists it, --retry sends it again).\n")
        case .pending?:
            outcome.result = .retry(at: retryAt, error: error)
            log("sandboxer: \(what) Retrying in \(String(cFormat: "%.1f", delay))s.\n")
        case .delivered?, nil:
            outcome.result = .superseded
        }
        observe(outcome)
        return outcome
    }
}
