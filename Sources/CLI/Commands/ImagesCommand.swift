import FoundationEssentials
import Lifecycle
import Config
import Core
import Basics
import PluginProtocol
#if canImport(Glibc)
import Glibc
#endif

/// `sandboxer images`: list the images cache, newest first.
struct ImagesCommand: Command {
    static let spec = CommandSpec(name: "images", summary: "List built images, newest first.",
        discussion: "PINS counts the live sandboxes that booted an image: image-rm refuses it and prune-images keeps it while above 0.")

    let invocation: Invocation

    func run() throws(SandboxerError) -> Int32 {
        let rows = try openService().images()
        if json { emit(.array(rows.map(\.jsonValue))); return 0 }
        var table = Table("ID", "PROFILE", "BUILDER", "STATE", "SIZE", "PINS", "CREATED", "LAST USED", "KEY")
        for i in rows {
            table.add(i.id, i.profile, i.builder, i.state.rawValue, Invocation.bytes(i.sizeBytes), String(i.pins),
                      RFC3339.format(i.createdAt), i.lastUsedAt.map(RFC3339.format) ?? "-", String(i.cacheKey.prefix(12)))
        }
        console.print(table.rendered)
        return 0
    }
}
