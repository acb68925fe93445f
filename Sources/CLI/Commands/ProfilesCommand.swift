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

/// `sandboxer profiles`: list the profiles.
struct ProfilesCommand: Command {
    static let spec = CommandSpec(name: "profiles", summary: "List the profiles.")

    let invocation: Invocation

    func run() throws(SandboxerError) -> Int32 {
        let profiles = config.profiles.values.sorted { $0.name < $1.name }
        if json {
            emit(.array(profiles.map(ProfileView.render)))
            return 0
        }
        var table = Table("NAME", "BACKEND", "IMAGE", "TTL", "MAX", "IDLE", "NETWORK", "CONSUMER")
        for p in profiles {
            table.add(p.name, p.backend, p.image ?? "-", p.ttl.defaultTTL.description, p.ttl.max.description,
                      p.ttl.idleReap?.description ?? "-", p.network, p.consumer ?? "-")
        }
        console.print(table.rendered)
        return 0
    }
}
