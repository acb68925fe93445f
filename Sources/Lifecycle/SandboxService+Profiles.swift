import FoundationEssentials
import Glibc
import Core
import Config
import Store
import Backends
import PluginProtocol
import Basics

// Which profiles a caller may create from, and whether a profile's backend can serve its `reach`:
// both checked at create, before anything is written (bad input leaves no row).
extension SandboxService {
    /// The profile named `name` as `consumer` sees it: nil means an operator (every profile); a
    /// consumer sees only the profiles open to it (`consumer: <its name>` or `consumer: "*"`), and
    /// any other is "no such profile", as another consumer's sandbox is.
    public func profile(_ name: String, visibleTo consumer: String?) throws(SandboxerError) -> Profile {
        guard let consumer else { return try profile(name) }
        let visible = visibleProfiles(to: consumer)
        guard let p = visible.first(where: { $0.name == name }) else {
            let known = visible.map(\.name).joined(separator: ", ")
            throw SandboxerError(.notFound, "No profile named '\(name)' is open to consumer '\(consumer)' (open to it: \(known.isEmpty ? "none" : known)).")
        }
        return p
    }

    /// The profiles `consumer` may use, sorted by name; nil (an operator) sees them all.
    public func visibleProfiles(to consumer: String?) -> [Profile] {
        config.profiles.values.filter { p in consumer.map { p.isOpen(to: $0) } ?? true }.sorted { $0.name < $1.name }
    }

    /// A profile with `reach:` needs a backend that declares `sandboxer.reach/1` (the network rule is
    /// checked when the config loads).
    func checkReachable(_ profile: Profile, on backend: any SandboxBackend) throws(SandboxerError) {
        guard !profile.reach.isEmpty, !backend.supports(Capability.reach) else { return }
        let names = profile.reach.map { "\($0.name) (\($0.kind.rawValue) \($0.port))" }.joined(separator: ", ")
        throw SandboxerError(.invalidArgument, "Profile '\(profile.name)' declares reach \(names), but its backend \(backend.name) does not declare \(Capability.reach), so no sandbox made from it could be reached.")
    }
}
