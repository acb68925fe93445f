import FoundationEssentials
import Glibc
import API
import Lifecycle
import Webhooks
import Store
import Config
import Core
import Backends
import HTTPServer
import Basics
import PluginProtocol

extension Invocation {
    /// Sizes as people read them: 1.5 MiB.
    static func bytes(_ n: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(n)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(n) B" : String(cFormat: "%.1f", value) + " " + units[unit]
    }
}
