import FoundationEssentials
import Glibc
import Core
import Config
import Store
import Backends
import PluginProtocol
import Basics

extension SandboxService {
    /// Sends the `expiry_warning` event of every live sandbox whose warning time (`expires_at` minus
    /// the profile's `ttl.expiry_warning`) has come: once per deadline, so after `extend-ttl` the new
    /// deadline is warned again. Sandboxes already due get none (the sweep expires them). Each
    /// warning is one conditional update, so concurrent sweeps send it once. Returns the events sent
    /// (their `seq` is 0: the store numbers them).
    @discardableResult
    public func sendExpiryWarnings(limit: Int? = nil) throws(SandboxerError) -> [SandboxEvent] {
        let at = now
        let candidates = try storeCall { () throws(StoreError) in try store.warningsDue(at: at, limit: limit) }
        var sent: [SandboxEvent] = []
        for sandbox in candidates {
            guard let warning = TTLRules.warning(sandbox, now: at) else { continue }
            let event = SandboxEvent(sandboxId: sandbox.id, type: .expiryWarning, at: at, data: [
                "expires_at": .string(RFC3339.format(warning.expiresAt)), "in": .string(DurationText.compact(warning.inSeconds)),
                "rule": .string(warning.rule.rawValue),
            ])
            let recorded = try storeCall { () throws(StoreError) in
                try store.recordExpiryWarning(id: sandbox.id, expiresAt: warning.expiresAt, event: event, now: at)
            }
            if recorded { sent.append(event) }
        }
        return sent
    }
}
