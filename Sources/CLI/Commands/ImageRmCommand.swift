import FoundationEssentials
import Lifecycle
import Config
import Core
import Basics
import PluginProtocol
#if canImport(Glibc)
import Glibc
#endif

/// `sandboxer image-rm`: remove an image and its artifacts (unless another image shares them).
struct ImageRmCommand: Command {
    static let spec = CommandSpec(name: "image-rm", summary: "Remove a built image and its files.", arguments: ["ID"],
        discussion: "An image being built by a live process cannot be removed. The next create of its profile builds it again.")

    let invocation: Invocation

    func run() throws(SandboxerError) -> Int32 {
        let removed = try openService().removeImage(parsed.arguments[0])
        if json { emit(removed.jsonValue) } else { console.print("\(removed.id) removed\n") }
        return 0
    }
}
