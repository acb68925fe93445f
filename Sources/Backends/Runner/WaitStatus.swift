import Glibc

/// A child's wait status, decoded for messages: "crashed with SIGSEGV", "exited with status 3".
struct WaitStatus: Sendable, Equatable {
    let raw: Int32

    /// The signal that ended the process, nil when it exited.
    var signal: Int32? { raw & 0x7f != 0 && raw & 0x7f != 0x7f ? raw & 0x7f : nil }
    /// The exit status, nil when a signal ended the process.
    var exitStatus: Int32? { raw & 0x7f == 0 ? (raw >> 8) & 0xff : nil }

    /// "crashed with SIGSEGV" or "exited with status 3" (status 0 too: a runner never exits on its own).
    var phrase: String {
        if let signal { return "crashed with \(Self.name(ofSignal: signal))" }
        return "exited with status \(exitStatus ?? -1)"
    }

    /// "SIGSEGV", or "signal 42" for one without a common name.
    static func name(ofSignal signal: Int32) -> String {
        let names: [Int32: String] = [SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL",
                                      SIGTRAP: "SIGTRAP", SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE",
                                      SIGKILL: "SIGKILL", SIGSEGV: "SIGSEGV", SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM",
                                      SIGTERM: "SIGTERM", SIGSYS: "SIGSYS", SIGXCPU: "SIGXCPU", SIGXFSZ: "SIGXFSZ"]
        return names[signal] ?? "signal \(signal)"
    }
}
