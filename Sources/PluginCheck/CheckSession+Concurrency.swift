import Dispatch
import FoundationEssentials
import Glibc
import Basics
import Core
import Backends
import PluginProtocol
import Synchronization

// The host may call invoke from several threads at once: a plugin MUST be thread-safe.
extension CheckSession {
    /// `options.threads` threads each make `options.callsPerThread` calls at once: status of the
    /// live sandbox, or describe when there is none. Every answer must be the right one.
    func concurrencyRule() {
        guard let backend else { return }
        let threads = max(1, options.threads), calls = max(1, options.callsPerThread)
        let target = sandbox
        let operation = target == nil ? Operation.describe : Operation.status
        let body = target.map { Self.body($0) } ?? Data("{}".utf8)
        let failures = Mutex<(count: Int, first: String?)>((0, nil))
        let replies = self.replies
        let timeout = timeouts.other
        let done = DispatchGroup()
        for _ in 0..<threads {
            done.enter()
            let thread = PosixThread {
                for _ in 0..<calls {
                    let (reply, result) = backend.probe(operation, body, timeout: timeout)
                    if let reply { replies.note(operation, reply) }
                    if let problem = Self.concurrentProblem(operation, result) {
                        failures.withLock { state in
                            state.count += 1
                            if state.first == nil { state.first = problem }
                        }
                    }
                }
                done.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        done.wait()
        let (count, first) = failures.withLock { $0 }
        let total = threads * calls
        if count == 0 {
            record(.pass, "concurrency.invoke", "\(threads) threads × \(calls) \(operation) calls at once all answered right")
        } else {
            record(.fail, "concurrency.invoke", "\(count) of \(total) concurrent \(operation) calls went wrong, first: \(first ?? "?"); invoke MUST be thread-safe")
        }
    }

    static func concurrentProblem(_ operation: String, _ result: Result<Data, BackendError>) -> String? {
        switch result {
        case .failure(let error):
            return describe(error)
        case .success(let data):
            if operation == Operation.status {
                guard let status = try? JSONDecoder().decode(StatusResponse.self, from: data) else { return "a status response of the wrong shape" }
                return status.state == "running" ? nil : "state \(status.state.debugDescription)"
            }
            return (try? JSONDecoder().decode(DescribeResponse.self, from: data)) == nil ? "a describe response of the wrong shape" : nil
        }
    }
}
