import Foundation
import PluginKit
import Testing
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

/// The dead letters through both fronts: `GET /v1/events/failed` (checked against the OpenAPI
/// document) and `sandboxer webhook-failures [--retry]`.
@Suite struct WebhookFrontTests {
    /// Makes one dead delivery of a `created` event for sink `ops` in `store`; returns its seq.
    @discardableResult
    static func deadLetter(_ store: SandboxStore, at now: Date) throws -> Int64 {
        try store.registerWebhookSink("ops")
        try store.append(events: [SandboxEvent(sandboxId: "sbx-00000000000000aa", type: .created, at: now)])
        try store.enqueueWebhookDeliveries(sink: "ops", now: now) { _ in true }
        let claimed = try #require(try store.claimWebhookDeliveries(sink: "ops", now: now, lease: 15, limit: 1).first)
        #expect(try store.markWebhookFailed(sink: "ops", seq: claimed.event.seq, attempt: 1, status: 502,
                                            error: "The receiver answered HTTP 502.", retryAt: now, maxAttempts: 1, now: now) == .dead)
        return claimed.event.seq
    }

    @Test func theOperatorListsDeadLettersOverHTTP() throws {
        let x = try APITests.Fixture(tokens: true)
        #expect(x.send("GET", "/v1/events/failed", token: APITests.consumerA).status == 403)
        #expect(x.send("GET", "/v1/events/failed").status == 401)
        let empty = x.send("GET", "/v1/events/failed", token: APITests.operatorToken)
        #expect(empty.status == 200)
        #expect(empty.json == ["failed": []])

        let seq = try Self.deadLetter(x.f.service.store, at: x.f.clock.now())
        let listed = x.send("GET", "/v1/events/failed", token: APITests.operatorToken)
        #expect(listed.status == 200)
        let item = try #require(listed.json["failed"]?.arrayValue?.first)
        #expect(item["sink"] == "ops")
        #expect(item["event_id"] == .string("evt_\(x.f.service.store.storeId)_\(seq)"))
        #expect(item["seq"] == .number(Double(seq)))
        #expect(item["type"] == "created")
        #expect(item["state"] == "dead")
        #expect(item["attempts"] == 1)
        #expect(item["last_status"] == 502)
        #expect(item["last_error"] == "The receiver answered HTTP 502.")
        #expect(x.send("GET", "/v1/events/failed?sink=other", token: APITests.operatorToken).json == ["failed": []])
        #expect(x.send("GET", "/v1/events/failed?limit=0", token: APITests.operatorToken).status == 400)
    }

    @Test func theCLIListsAndRequeuesDeadLetters() throws {
        let dir = try StoreDirectory()
        let configPath = dir.url.appendingPathComponent("config.yaml").path
        try Data("""
            data_dir: \(dir.url.path)
            host_id: host-test
            backends:
              fake:
                plugin: /nonexistent/libfake.so
            profiles:
              default:
                backend: fake
            webhooks:
              - name: ops
                url: http://127.0.0.1:9/hook
                secret: env:HOOK_SECRET

            """.utf8).write(to: URL(fileURLWithPath: configPath))
        let seq = try Self.deadLetter(try dir.open(), at: Date())
        let storeId = try dir.open().storeId

        func run(_ arguments: [String]) -> (code: Int32, out: String, err: String) {
            let out = Recorder<Data>(), err = Recorder<String>()
            let console = CLI.Console(out: { out.add($0) }, err: { err.add($0) })
            let code = CLI.run(arguments + ["--config", configPath], environment: ["HOME": dir.url.path], console: console)
            return (code, String(decoding: out.items.reduce(Data(), +), as: UTF8.self), err.items.joined())
        }

        let table = run(["webhook-failures"])
        #expect(table.code == 0, "\(table.err)")
        #expect(table.out.hasPrefix("SINK  EVENT"))
        #expect(table.out.contains("ops   evt_\(storeId)_\(seq)"))
        #expect(table.out.contains("The receiver answered HTTP 502."))

        // `events --failed` is the same list under the name the events command gives it.
        let viaEvents = run(["events", "--failed", "--sink", "ops"])
        #expect(viaEvents.code == 0 && viaEvents.out == table.out, "\(viaEvents.err)")
        #expect(run(["events", "--failed", "--follow"]).code == 2)
        #expect(run(["events", "--sink", "ops"]).code == 2)

        let json = run(["webhook-failures", "--json"])
        let listed = try JSONDecoder().decode(JSONValue.self, from: Data(json.out.utf8))
        #expect(listed.arrayValue?.count == 1)
        #expect(listed.arrayValue?.first?["last_status"] == 502)

        #expect(run(["webhook-failures", "--retry", "--json"]).out == JSONValue.object(["requeued": 1]).rendered())
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(run(["webhook-failures", "--json"]).out.utf8)) == [])
        #expect(run(["webhook-failures", "--retry"]).out == "requeued 0 dead webhook deliveries\n")
        #expect(run(["webhook-failures", "--sink", "nope"]).err.contains("no webhook sink named 'nope' is configured"))
    }
}
