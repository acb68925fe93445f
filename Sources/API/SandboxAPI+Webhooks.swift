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
    /// `GET /v1/events/failed`: dead-lettered webhook deliveries, oldest failure first (operator only).
    func failedEvents(_ c: RouteContext) throws(APIError) -> HTTPResponse {
        let request = c.request
        let limit = try number(request, "limit", 1...1000) ?? 100
        let sink = request.query["sink"]?.last
        let dead = try call { () throws(SandboxerError) in
            try service.storeCall { () throws(StoreError) in try service.store.webhookDeliveries(state: .dead, sink: sink, limit: limit) }
        }
        let storeId = service.store.storeId
        return json(200, .object(["failed": .array(dead.map { $0.jsonValue(storeId: storeId) })]))
    }
}
