import FoundationEssentials
import Lifecycle
import Config
import Core
import Basics
import PluginProtocol
#if canImport(Glibc)
import Glibc
#endif

/// `sandboxer prune-images`: plan (default) or apply the images cache's pruning.
struct PruneImagesCommand: Command {
    static let spec = CommandSpec(name: "prune-images", summary: "Plan (default) or apply pruning of built images.",
        options: [.init(name: "apply", help: "Remove the images the plan lists."),
                  .init(name: "max-bytes", value: "SIZE", help: "Size budget for images no profile uses (default: images.max_bytes; none: remove them all).")],
        discussion: """
        Images profiles use (the current image of each profile with a build) are kept, and so are images live
        sandboxes booted (reason pinned); failed builds are removed; other images are kept, most recently used
        first, while they fit the budget.
        """)

    let invocation: Invocation

    func run() throws(SandboxerError) -> Int32 {
        let apply = parsed.has("apply")
        var budget: Int64?
        if let text = parsed.value("max-bytes") {
            guard let bytes = ResourceSpec.parseMemory(text) else {
                throw ParsedCommand.usage(parsed.spec, "The option '--max-bytes' takes a size such as 20G, got '\(text)'.")
            }
            budget = bytes
        }
        let decisions = try openService().pruneImages(apply: apply, maxBytes: budget)
        if json {
            emit(.object(["apply": .bool(apply), "images": .array(decisions.map { d in
                .object(["id": .string(d.image.id), "profile": .string(d.image.profile), "state": .string(d.image.state.rawValue),
                         "size_bytes": .number(Double(d.image.sizeBytes)), "remove": .bool(d.remove), "reason": .string(d.reason),
                         "pins": .number(Double(d.pins))])
            })]))
            return 0
        }
        var table = Table("IMAGE", "PROFILE", "STATE", "SIZE", "REASON", apply ? "OUTCOME" : "ACTION")
        for d in decisions {
            table.add(d.image.id, d.image.profile, d.image.state.rawValue, Invocation.bytes(d.image.sizeBytes), d.reason,
                      d.remove ? (apply ? "removed" : "remove") : "keep")
        }
        console.print(table.rendered)
        let pinned = decisions.filter { !$0.remove && $0.pins > 0 }
        if !pinned.isEmpty {
            let sandboxes = pinned.reduce(0) { $0 + $1.pins }
            console.err("Kept \(pinned.count) image(s) that \(sandboxes) live sandbox(es) booted (PINS in 'sandboxer images'); they can go once those sandboxes are destroyed.\n")
        }
        if !apply { console.err("Dry run: nothing was changed. Run 'sandboxer prune-images --apply' to act.\n") }
        return 0
    }
}
