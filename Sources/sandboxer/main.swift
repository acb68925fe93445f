import FoundationEssentials
import Glibc
import CLI

// A thin main: everything lives in Host so both fronts share one code path.
let code = CLI.run(Array(CommandLine.arguments.dropFirst()))
CLI.waitForDetachedPluginWork()
exit(code)
