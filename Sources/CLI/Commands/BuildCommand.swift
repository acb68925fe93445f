import FoundationEssentials
import Lifecycle
import Config
import Core
import Basics
import PluginProtocol
#if canImport(Glibc)
import Glibc
#endif

/// `sandboxer build`: build (or find cached) the image of a profile with a `build:` block.
struct BuildCommand: Command {
    static let spec = CommandSpec(name: "build", summary: "Build the image of a profile (or find it in the cache).", arguments: ["PROFILE"],
        options: [.init(name: "force", help: "Build even when the cache has an image for the same inputs (it is replaced).")],
        discussion: """
        The image is keyed by its inputs (builder and its version, template files, vars, input files, architecture);
        a profile whose key is cached is not built again. Progress goes to standard error: one updating line on a
        terminal, a line per step otherwise. See docs/images.md.
        """)

    let invocation: Invocation

    func run() throws(SandboxerError) -> Int32 {
        let service = try openService()
        let name = parsed.arguments[0]
        let printer = BuildProgressPrinter(console: console, label: "build \(name)", environment: environment)
        let image: Image
        do { image = try service.ensureImage(profile: name, force: parsed.has("force"), progress: printer.callback) }
        catch { printer.finish(); throw error }
        printer.finish()
        if json { emit(image.jsonValue); return 0 }
        console.print("\(image.id)\n")
        let kinds = image.artifacts.map { "\($0.kind) \($0.digest.prefix(19))…" }.joined(separator: ", ")
        console.err("image \(image.id) of profile \(image.profile) is ready (\(Invocation.bytes(image.sizeBytes)); \(kinds)).\n")
        return 0
    }
}
