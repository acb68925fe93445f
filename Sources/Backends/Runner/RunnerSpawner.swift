import Dispatch
import FoundationEssentials
import Basics
import Glibc
import Synchronization

/// A started plugin runner: its pid and the host's end of its socketpair.
struct RunnerProcess: Sendable {
    let pid: pid_t
    let fd: Int32
}

/// Starts plugin runners with posix_spawn from one thread that lives as long as the host.
///
/// PR_SET_PDEATHSIG fires when the *thread* that forked the child exits, not the process: spawning
/// from a caller's thread (a pool thread that retires when idle) would kill a healthy runner.
final class RunnerSpawner: Sendable {
    static let shared = RunnerSpawner()

    private let jobs = Mutex<[@Sendable () -> Void]>([])
    private let wake = DispatchSemaphore(value: 0)

    private init() {
        let thread = PosixThread { [self] in
            while true {
                wake.wait()
                let job = jobs.withLock { $0.isEmpty ? nil : $0.removeFirst() }
                job?()
            }
        }
        thread.name = "sandboxer-runner-spawner"
        thread.start()
    }

    /// Starts `executable __plugin-runner --fd 3 --parent <our pid>` with one end of a fresh socketpair
    /// on fd 3, stdin on /dev/null, stdout on our stderr, default signal dispositions, and
    /// `environment`. Returns the runner, or why it could not start.
    func spawn(executable: String, environment: [String]) -> Result<RunnerProcess, RunnerWire.Failure> {
        let box = Mutex<Result<RunnerProcess, RunnerWire.Failure>?>(nil)
        let done = DispatchSemaphore(value: 0)
        jobs.withLock { $0.append {
            let result = Self.spawnNow(executable: executable, environment: environment)
            box.withLock { $0 = result }
            done.signal()
        } }
        wake.signal()
        done.wait()
        return box.withLock { $0 } ?? .failure(RunnerWire.Failure("the spawner gave no result"))
    }

    static func spawnNow(executable: String, environment: [String]) -> Result<RunnerProcess, RunnerWire.Failure> {
        var fds: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            return .failure(RunnerWire.Failure("socketpair failed: \(String(cString: strerror(errno)))"))
        }
        defer { close(fds[1]) }
        // The host blocks SIGTERM/SIGINT (one sigwait thread takes them) and ignores SIGPIPE; the
        // runner starts with the defaults (ChildProcess resets them) or it would shrug off the teardown's SIGTERM.
        var options = ChildProcess.Options([executable, PluginRunner.subcommand, "--fd", "3", "--parent", String(getpid())])
        options.environment = environment
        options.stdin = .null
        options.stdout = .descriptor(2)
        options.descriptors = [(child: 3, parent: fds[1])]
        options.defaultSignals = [SIGPIPE, SIGTERM, SIGINT]
        switch ChildProcess.spawn(options) {
        case .success(let child):
            return .success(RunnerProcess(pid: child.pid, fd: fds[0]))
        case .failure(let error):
            close(fds[0])
            return .failure(RunnerWire.Failure("cannot start the plugin runner \(executable): \(String(cString: strerror(error.errorNumber)))"))
        }
    }

    /// Our environment without what a plugin must not see: the host's secrets (plugins ask for them
    /// through the secret callback, which the host answers) and its API tokens.
    static func runnerEnvironment(_ environment: [String: String] = ProcessEnvironment.current()) -> [String] {
        environment.filter { key, _ in
            !key.hasPrefix("SANDBOXER_SECRET_") && !(key.hasPrefix("SANDBOXER_") && key.contains("TOKEN"))
        }.map { "\($0.key)=\($0.value)" }.sorted()
    }
}
