import FoundationEssentials
import Basics
import Glibc
import CPluginRunner

/// The plugin runner: `sandboxer __plugin-runner --fd 3 --parent PID`, started by the host with one
/// end of a socketpair on fd 3. It loads one plugin as the host would, creates one instance from
/// the config the host sends, and runs its calls; the plugin's callbacks go back to the host.
///
/// It holds nothing else of the host: every other inherited descriptor is closed, its environment
/// has no secrets or tokens, and it dies with the host (PR_SET_PDEATHSIG, and the end of its stream).
public enum PluginRunner {
    /// The hidden subcommand (never listed in `--help`).
    public static let subcommand = "__plugin-runner"

    /// Runs the runner until the host goes away; returns an exit status for a bad start.
    public static func main(_ arguments: [String]) -> Int32 {
        var fd: Int32 = -1
        var parent: pid_t = -1
        var i = 0
        while i + 1 < arguments.count {
            switch arguments[i] {
            case "--fd": fd = Int32(arguments[i + 1]) ?? -1
            case "--parent": parent = pid_t(arguments[i + 1]) ?? -1
            default: break
            }
            i += 2
        }
        guard fd >= 0, parent > 0 else {
            FileIO.writeAll(2, Data("sandboxer: \(subcommand) is started by the host, not by hand.\n".utf8))
            return 2
        }
        // Die with the host. Checked after setting it: a host that died before would go unnoticed.
        guard cpr_set_parent_death_signal(SIGKILL) == 0, getppid() == parent else { return 1 }
        cpr_close_descriptors_from(3, fd)
        // Children a plugin starts must not hold the stream open (its end is how we learn the host is gone).
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        signal(SIGPIPE, SIG_IGN)
        return RunnerSession(fd: fd).run()
    }
}
