import FoundationEssentials
import Basics
import Glibc
import PluginKit

// Misbehaviour a plugin runner must contain: `"crash": {"status": "segv"}` makes every `status`
// call crash its process. Kinds: `segv` (a write to an unmapped address), `abort`, `exit` (exit 7),
// `stuck` (blocks forever and ignores cancellation). Before crashing, the plugin writes
// "<operation> <kind>\n" to `ready_fifo` when one is configured, so a test knows the call arrived.
extension TestPlugin {
    /// Crashes (or blocks) as the config asks for `operation`; returns when it asks nothing.
    func crashIfAsked(_ operation: String) {
        guard let kind = config.crash[operation] else { return }
        if let fifo = config.readyFifo { TestPluginStore.signal(fifo: fifo, "\(operation) \(kind)") }
        switch kind {
        case "segv":
            // Address 8: never mapped; computed at run time so the store is not optimized away.
            let address = UnsafeMutablePointer<Int32>(bitPattern: Int(getpid() & 0) + 8)
            address?.pointee = 1
            raise(SIGSEGV)  // only reached if the write above was elided
        case "abort":
            abort()
        case "exit":
            exit(7)
        default:  // "stuck"
            while true { pause() }
        }
    }
}

extension TestPluginConfig {
    /// The `crash` map: operation → segv, abort, exit or stuck.
    static func crashes(_ json: JSONValue) throws(PluginError) -> [String: String] {
        guard let value = json["crash"] else { return [:] }
        guard let map = value.objectValue else {
            throw PluginError(.invalidRequest, "The test plugin's 'crash' must map operation names to segv, abort, exit or stuck.")
        }
        var out: [String: String] = [:]
        for (operation, kind) in map {
            guard let text = kind.stringValue, ["segv", "abort", "exit", "stuck"].contains(text) else {
                throw PluginError(.invalidRequest, "The test plugin's 'crash.\(operation)' must be segv, abort, exit or stuck.")
            }
            out[operation] = text
        }
        return out
    }
}
