import Foundation
import PluginKit
import Testing
@testable import Basics
@testable import HTTPServer
@testable import PluginProtocol
@testable import Core
@testable import Config
@testable import Store
@testable import Backends
@testable import Lifecycle
@testable import API

/// The backend's `info` from create is stored (bounded) and shown by `show` and `GET /v1/sandboxes/{id}`.
@Suite struct BackendInfoTests {
    @Test func smallInfoIsKeptWhole() {
        #expect(BackendInfo.bounded([:]) == nil)
        let info: [String: JSONValue] = ["ip": "10.0.0.2", "port": 22, "ready": true]
        #expect(BackendInfo.bounded(info) == .object(info))
        #expect(BackendInfo.parse(BackendInfo.text(.object(info))) == .object(info))
        #expect(BackendInfo.parse("[1]") == nil && BackendInfo.parse("nonsense") == nil && BackendInfo.parse(nil) == nil)
    }

    @Test func largeInfoKeepsWhatFitsAndCountsTheRest() throws {
        let info: [String: JSONValue] = ["a": "small", "big": .string(String(repeating: "x", count: 5000)), "z": 1]
        let bounded = try #require(BackendInfo.bounded(info))
        #expect(bounded == .object(["a": "small", "z": 1, BackendInfo.droppedKey: 1]))
        var many: [String: JSONValue] = [:]
        for i in 0..<1000 { many["key\(i)"] = .string("value \(i)") }
        let cut = try #require(BackendInfo.bounded(many))
        #expect(BackendInfo.size(of: cut) <= BackendInfo.maxBytes)
        let dropped = try #require(cut[BackendInfo.droppedKey]?.numberValue)
        #expect(dropped > 0 && Int(dropped) + (cut.objectValue?.count ?? 0) - 1 == 1000)
    }

    @Test func infoIsStoredAndServedByTheAPI() throws {
        let dir = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(dir) }
        let config = try ConfigLoader.parse("""
            data_dir: \(dir)/data
            host_id: host-info
            backends:
              fake:
                plugin: \(try PluginFixtures.testPluginPath())
                config: {state_dir: \(dir), info_bytes: 6000}
            profiles:
              default: {backend: fake}
            """, file: "test.yaml", environment: [:], baseDirectory: dir)
        let clock = ManualClock()
        let context = PluginHostContext(now: { clock.now() }, secret: { _ in nil }, log: { _, _, _ in })
        let store = try SandboxStore(path: dir + "/sandboxer.db")
        let service = SandboxService(config: config, store: store, backends: BackendRegistry(config: config, context: context),
                                     clock: clock, hostId: "host-info")
        let created = try service.create(CreateOptions()).sandbox
        let createdAt = Double(Int64((clock.now().timeIntervalSince1970 * 1000).rounded()))
        // The 6000-byte pad does not fit in 4 KiB: it is dropped and counted; the rest is kept.
        let expected: JSONValue = .object(["created_at_ms": .number(createdAt), BackendInfo.droppedKey: 1])
        #expect(created.backendInfo == expected)
        #expect(try service.get(created.id).backendInfo == expected)

        let api = try SandboxAPI(service: service, settings: ServerSettings())
        let request = HTTPRequest(method: "GET", target: "/v1/sandboxes/\(created.id)", headers: HTTPHeaders(), body: Data())
        let response = api.handle(request)
        let json = try JSONDecoder().decode(JSONValue.self, from: response.body)
        #expect(response.status == 200)
        #expect(json["info"] == expected)
        try SandboxAPITests.Checker().check(request, response, json)
    }
}
