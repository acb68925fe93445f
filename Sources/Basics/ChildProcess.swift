import CBasics
import Glibc

/// A child started with posix_spawn: no Swift runs between fork and exec, only the descriptors named
/// in its `Options` reach it (everything of ours is close-on-exec), and it starts with an empty
/// signal mask and default dispositions for the signals the host blocks or ignores (Foundation's
/// `Process` leaked a blocked SIGTERM into children, which then shrugged off a teardown).
///
/// The one process starter of the host and the LocalVM plugin: `wait`/`poll` give an `ExitStatus`
/// value, `terminate` runs a declared `TeardownSequence`, `run` captures bounded output.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked: the pipe descriptors are set at spawn; closing them is the owner's job (one thread
    // does the I/O), and the reaped status is guarded by `lock`.
    public let pid: pid_t
    /// Our ends of the pipes asked for with `.pipe`, -1 otherwise (or once closed).
    public private(set) var stdinFd: Int32
    public private(set) var stdoutFd: Int32
    public private(set) var stderrFd: Int32
    let lock = Lock()
    var reaped: ExitStatus?

    /// Where one of the child's standard streams goes.
    public enum Stdio: Sendable, Equatable {
        /// The parent's own descriptor, unchanged.
        case inherit
        /// /dev/null.
        case null
        /// This descriptor of ours (duplicated; we keep ours).
        case descriptor(Int32)
        /// A new pipe; our end is `stdinFd`/`stdoutFd`/`stderrFd`.
        case pipe
    }

    /// What to start and how.
    public struct Options: Sendable {
        /// argv, argv[0] included.
        public var arguments: [String]
        /// The program's path; nil means `arguments[0]`.
        public var executable: String?
        /// Look the program up in PATH when it has no `/` (posix_spawnp).
        public var searchPath = false
        /// `KEY=value` entries; nil inherits ours.
        public var environment: [String]?
        /// The child's working directory; nil keeps ours.
        public var directory: String?
        public var stdin: Stdio = .null
        public var stdout: Stdio = .inherit
        public var stderr: Stdio = .inherit
        /// Further descriptors: `child` in the child is a copy of our `parent`.
        public var descriptors: [(child: Int32, parent: Int32)] = []
        /// Start it in a new process group (its pgid is its pid), so a signal can reach its children.
        public var newProcessGroup = false
        /// Signals reset to their default disposition in the child (the mask is always emptied).
        public var defaultSignals: [Int32] = [SIGPIPE, SIGTERM, SIGINT, SIGHUP]

        public init(_ arguments: [String], executable: String? = nil) {
            self.arguments = arguments
            self.executable = executable
        }
    }

    /// Why a child could not start: what failed and the error number.
    public struct SpawnError: Error, Sendable, Equatable {
        public let errorNumber: Int32
        /// A full sentence naming the program and the reason.
        public let message: String
    }

    init(pid: pid_t, stdin: Int32, stdout: Int32, stderr: Int32) {
        self.pid = pid; stdinFd = stdin; stdoutFd = stdout; stderrFd = stderr
    }

    deinit { closeAll() }

    /// Starts a child as `options` say.
    public static func spawn(_ options: Options) -> Result<ChildProcess, SpawnError> {
        guard let program = options.executable ?? options.arguments.first, !program.isEmpty else {
            return .failure(SpawnError(errorNumber: EINVAL, message: "Cannot start a process: the command is empty."))
        }
        func failure(_ what: String, _ number: Int32) -> SpawnError {
            SpawnError(errorNumber: number, message: "Cannot start \(program): \(what) failed (\(String(cString: strerror(number)))).")
        }
        var ours: [Int32] = []        // our pipe ends, handed to the ChildProcess
        var theirs: [Int32] = []      // the child's pipe ends and our high copies: closed after spawn
        defer { theirs.forEach { close($0) } }
        func makePipe() -> [Int32]? {
            var p: [Int32] = [-1, -1]
            guard cbasics_pipe_cloexec(&p) == 0 else { return nil }
            return p
        }
        // Every source descriptor is first copied above the targets, so a dup2 onto 0, 1, 2 or an
        // extra target can never clobber a source still to come (and dup2(fd, fd) never happens).
        func high(_ fd: Int32) -> Int32? {
            let copy = fcntl(fd, F_DUPFD_CLOEXEC, 10)
            if copy >= 0 { theirs.append(copy) }
            return copy >= 0 ? copy : nil
        }
        var mapping: [(child: Int32, source: Int32?)] = []   // nil source: /dev/null
        var pipeEnds: [Int32] = [-1, -1, -1]
        for (target, stdio) in [(Int32(0), options.stdin), (1, options.stdout), (2, options.stderr)] {
            switch stdio {
            case .inherit: continue
            case .null: mapping.append((target, nil))
            case .descriptor(let fd):
                guard let copy = high(fd) else { ours.forEach { close($0) }; return .failure(failure("dup", errno)) }
                mapping.append((target, copy))
            case .pipe:
                guard let p = makePipe() else { ours.forEach { close($0) }; return .failure(failure("pipe", errno)) }
                let (childEnd, ourEnd) = target == 0 ? (p[0], p[1]) : (p[1], p[0])
                ours.append(ourEnd); pipeEnds[Int(target)] = ourEnd
                guard let copy = high(childEnd) else {
                    close(childEnd); ours.forEach { close($0) }
                    return .failure(failure("dup", errno))
                }
                close(childEnd)
                mapping.append((target, copy))
            }
        }
        for extra in options.descriptors {
            guard let copy = high(extra.parent) else { ours.forEach { close($0) }; return .failure(failure("dup", errno)) }
            mapping.append((extra.child, copy))
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (target, source) in mapping {
            if let source { posix_spawn_file_actions_adddup2(&actions, source, target) }
            else { posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0) }
        }
        if let directory = options.directory {
            let status = cbasics_spawn_addchdir(&actions, directory)
            if status != 0 { ours.forEach { close($0) }; return .failure(failure("chdir", status)) }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in options.defaultSignals { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if options.newProcessGroup {
            flags |= POSIX_SPAWN_SETPGROUP
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        var cArgs: [UnsafeMutablePointer<CChar>?] = options.arguments.map { strdup($0) } + [nil]
        var cEnv: [UnsafeMutablePointer<CChar>?] = (options.environment ?? []).map { strdup($0) } + [nil]
        defer { for p in cArgs + cEnv { free(p) } }
        var pid: pid_t = 0
        let status: Int32 = cEnv.withUnsafeMutableBufferPointer { env in
            let envp = options.environment == nil ? environ : env.baseAddress
            return options.searchPath
                ? posix_spawnp(&pid, program, &actions, &attributes, &cArgs, envp)
                : posix_spawn(&pid, program, &actions, &attributes, &cArgs, envp)
        }
        guard status == 0 else {
            ours.forEach { close($0) }
            return .failure(SpawnError(errorNumber: status, message: "Cannot start \(program): \(String(cString: strerror(status)))."))
        }
        return .success(ChildProcess(pid: pid, stdin: pipeEnds[0], stdout: pipeEnds[1], stderr: pipeEnds[2]))
    }

    /// Closes our stdin end: the child reads EOF.
    public func closeStdin() { if stdinFd >= 0 { close(stdinFd); stdinFd = -1 } }

    /// Closes every pipe end of ours.
    public func closeAll() {
        closeStdin()
        if stdoutFd >= 0 { close(stdoutFd); stdoutFd = -1 }
        if stderrFd >= 0 { close(stderrFd); stderrFd = -1 }
    }

    /// Hands our stdout/stderr pipe end to the caller (it closes it); -1 when there is none.
    public func takeStdout() -> Int32 { defer { stdoutFd = -1 }; return stdoutFd }
    public func takeStderr() -> Int32 { defer { stderrFd = -1 }; return stderrFd }
    public func takeStdin() -> Int32 { defer { stdinFd = -1 }; return stdinFd }
}
