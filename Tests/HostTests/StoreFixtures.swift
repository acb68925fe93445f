import Foundation
@testable import Basics
@testable import HTTPServer
@testable import YAMLSubset
@testable import PluginProtocol
@testable import Core
@testable import Config
@testable import Store
@testable import Backends
@testable import Lifecycle
@testable import Webhooks
@testable import API
@testable import CLI

/// A fresh directory per test, removed when the test's suite instance goes away.
final class StoreDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("sandboxer-store-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    var dbPath: String { url.appendingPathComponent("sandboxer.db").path }

    func open() throws -> SandboxStore { try SandboxStore(path: dbPath) }
}

/// A fixed base time on a whole millisecond (the store's resolution), so round trips compare equal.
let storeBaseTime = Date(millisecondsSince1970: 1_700_000_000_123)

func at(_ seconds: Double) -> Date { storeBaseTime.addingTimeInterval(seconds) }

/// A sandbox with every optional field set; tests override what they examine.
func makeSandbox(_ id: String, state: SandboxState = .ready, profile: String = "default", backend: String = "localvm",
                 created: Double = 0, updated: Double = 0, expires: Double? = 3600, idleReap: Int64? = nil,
                 labels: [String: String] = [:], idempotencyKey: String? = nil) -> Sandbox {
    Sandbox(id: id, profile: profile, backend: backend, state: state, ttlSeconds: 3600, maxTTLSeconds: 86400,
            idleReapSeconds: idleReap, createdAt: at(created), readyAt: at(created), updatedAt: at(updated),
            expiresAt: expires.map(at), labels: labels, backendRef: "ref-\(id)", reason: nil,
            idempotencyKey: idempotencyKey, request: CreateIntent(ttlSeconds: 3600, requestedTTLSeconds: 3600), hostId: "host-1")
}

func createdEvent(_ id: String, at seconds: Double = 0) -> SandboxEvent {
    SandboxEvent(sandboxId: id, type: .created, at: at(seconds), data: ["by": "test"])
}

/// Makes `store` refuse to append events of `type`, as a failing constraint would: event data is
/// typed, so a test can no longer hand the store invalid JSON to make an append fail.
func refuseEvents(ofType type: String, in store: SandboxStore) throws {
    try store.connection.run("""
        CREATE TEMP TRIGGER refuse_\(type) BEFORE INSERT ON events WHEN NEW.type = '\(type)'
        BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
        """, [], doing: "Installing a test trigger")
}
