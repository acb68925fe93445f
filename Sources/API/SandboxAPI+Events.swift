import FoundationEssentials
import Glibc
import HTTPServer
import YAMLSubset
import Lifecycle
import Webhooks
import Store
import Config
import Core
import Backends
import Basics
import PluginProtocol

extension SandboxAPI {
    /// `GET /v1/events?since=SEQ&limit=N[&sandbox=ID][&wait=SECONDS]`: the events after `since`, and
    /// `next_since` to pass as `since` next time. With `wait`, an empty answer is held until events
    /// arrive or the wait ends (see `LongPollGate` for the bound on waiting requests). `sandbox` is
    /// the sandbox the router authorized from the query; a consumer sees only its own sandboxes' events.
    func events(_ c: RouteContext, sandbox: Sandbox?) throws(APIError) -> HTTPResponse {
        let request = c.request
        let since = try number(request, "since", 0...Int.max).map(Int64.init)
        let limit = try number(request, "limit", 1...1000) ?? 100
        let wait = try number(request, "wait", 0...Self.maxEventWait) ?? 0
        var page = try eventPage(since: since, limit: limit, sandbox: sandbox, owner: c.owner)
        if page.events.isEmpty && wait > 0 {
            try longPolls.wait(seconds: Double(wait)) { () throws(APIError) -> Bool in
                page = try eventPage(since: since, limit: limit, sandbox: sandbox, owner: c.owner)
                return !page.events.isEmpty
            }
        }
        return json(200, .object(["events": .array(page.events.map(\.jsonValue)), "next_since": .number(Double(page.next))]))
    }

    /// The longest `wait` a request may ask for, in seconds.
    static let maxEventWait = 30

    /// One page of events after `since`, filtered in SQL (see `SandboxStore.eventPage`): a consumer's
    /// cursor still moves past the others' events it did not see, so polling never walks them again.
    func eventPage(since: Int64?, limit: Int, sandbox: Sandbox?, owner: String?) throws(APIError) -> (events: [SandboxEvent], next: Int64) {
        try call { () throws(SandboxerError) in
            try service.storeCall { () throws(StoreError) in
                try service.store.eventPage(sandboxId: sandbox?.id, owner: owner, since: since, limit: limit)
            }
        }
    }
}
