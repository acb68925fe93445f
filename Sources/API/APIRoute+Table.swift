import HTTPServer
import Core

extension APIRoute {
    /// Every route the server knows, with who may call it and what it takes; the OpenAPI document must
    /// describe each one. Handlers of `{id}` routes receive the sandbox or snapshot, already authorized.
    static let all: [APIRoute] = [
        APIRoute("GET", "/healthz", .unauthenticated, .plain(SandboxAPI.health)),
        APIRoute("GET", "/openapi.json", .unauthenticated, .plain(SandboxAPI.openAPI)),
        APIRoute("GET", "/metrics", .operatorOnly, .plain(SandboxAPI.metricsResponse)),

        APIRoute("GET", "/v1/sandboxes", .anyToken, .plain(SandboxAPI.listSandboxes)),
        APIRoute("POST", "/v1/sandboxes", .anyToken, .plain(SandboxAPI.createSandbox)),
        APIRoute("POST", "/v1/sandboxes/expire", .operatorOnly, .plain(SandboxAPI.expire)),
        APIRoute("GET", "/v1/sandboxes/{id}", .anyToken, .sandbox(SandboxAPI.show)),
        APIRoute("DELETE", "/v1/sandboxes/{id}", .anyToken, .sandbox(SandboxAPI.destroy)),
        APIRoute("PATCH", "/v1/sandboxes/{id}/ttl", .anyToken, .sandbox(SandboxAPI.extendTTL)),
        APIRoute("POST", "/v1/sandboxes/{id}/exec", .anyToken, .sandbox(SandboxAPI.exec), holdsWorker: true),
        APIRoute("POST", "/v1/sandboxes/{id}/recreate", .anyToken, .sandbox(SandboxAPI.recreate)),
        APIRoute("POST", "/v1/sandboxes/{id}/snapshots", .anyToken, .sandbox(SandboxAPI.createSnapshot)),
        APIRoute("GET", "/v1/sandboxes/{id}/snapshots", .anyToken, .sandbox(SandboxAPI.listSnapshots(_:of:))),
        APIRoute("GET", "/v1/sandboxes/{id}/explain", .anyToken, .sandbox(SandboxAPI.explain)),
        APIRoute("GET", "/v1/sandboxes/{id}/endpoints", .anyToken, .sandbox(SandboxAPI.endpoints)),

        APIRoute("GET", "/v1/snapshots", .anyToken, .plain(SandboxAPI.listSnapshots(_:))),
        APIRoute("POST", "/v1/snapshots/prune", .operatorOnly, .plain(SandboxAPI.pruneSnapshots)),
        APIRoute("GET", "/v1/snapshots/{id}", .anyToken, .snapshot(SandboxAPI.showSnapshot)),
        APIRoute("DELETE", "/v1/snapshots/{id}", .anyToken, .snapshot(SandboxAPI.deleteSnapshot)),

        APIRoute("POST", "/v1/reap-stale", .operatorOnly, .plain(SandboxAPI.reapStale)),
        APIRoute("GET", "/v1/backends", .anyToken, .plain(SandboxAPI.backends)),
        APIRoute("GET", "/v1/profiles", .anyToken, .plain(SandboxAPI.profiles)),
        APIRoute("GET", "/v1/events", .anyToken, .sandboxInQuery("sandbox", SandboxAPI.events)),
        APIRoute("GET", "/v1/events/failed", .operatorOnly, .plain(SandboxAPI.failedEvents)),

        APIRoute("POST", "/v1/images/build", .operatorOnly, .plain(SandboxAPI.buildImage)),
        APIRoute("POST", "/v1/images/prune", .operatorOnly, .plain(SandboxAPI.pruneImages)),
        APIRoute("GET", "/v1/images", .operatorOnly, .plain(SandboxAPI.listImages)),
        APIRoute("GET", "/v1/images/{id}", .operatorOnly, .image(SandboxAPI.showImage)),
        APIRoute("DELETE", "/v1/images/{id}", .operatorOnly, .image(SandboxAPI.deleteImage)),
    ]
}
