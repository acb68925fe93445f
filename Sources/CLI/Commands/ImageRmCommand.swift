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
        options: [.init(name: "force", help: "Remove it even while live sandboxes that booted it run (their recreate then builds again).")],
        discussion: """
        An image being built by a live process cannot be removed, nor (without --force) one that live sandboxes
        booted: their recreate needs it (see 'sandboxer images', column PINS). The next create of its profile
        builds it again.
        """)

    let invocation: Invocation

    func run() throws(SandboxerError) -> Int32 {
        let removed = try openService().removeImage(parsed.arguments[0], force: parsed.has("force"))
        if json { emit(removed.jsonValue); return 0 }
        console.print("\(removed.id) removed\n")
        if removed.pins > 0 {
            let who = removed.pins == 1 ? "1 live sandbox booted from it keeps" : "\(removed.pins) live sandboxes booted from it keep"
            console.err("sandboxer: \(who) running; a recreate of \(removed.pins == 1 ? "it" : "them") will build the image of profile '\(removed.profile)' again.\n")
        }
        return 0
    }
}
