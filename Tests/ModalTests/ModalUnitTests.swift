import Foundation
import Testing
import ProtobufWire
import PluginKit
@testable import Modal

/// The plugin's pure parts: messages against the contract's golden bytes, the TTL mapping, the
/// endpoint mapping and the config rules. No stand-in needed.
struct ModalUnitTests {
    func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test func sandboxCreateMatchesTheGoldenVector() {
        // shared/contracts/README.md: serialized by the real protobuf library.
        let request = SandboxCreateRequest(
            appID: "ap-123",
            definition: SandboxDefinition(entrypointArgs: ["sleep", "infinity"], imageID: "im-abc", memoryMB: nil, milliCPU: nil,
                                          timeoutSecs: 600),
            environmentName: "", tags: [])
        #expect(hex(request.bytes) == "0a0661702d313233121c0a05736c6565700a08696e66696e6974791a06696d2d61626338d804")
        #expect(hex(SandboxIDRequest(sandboxID: "sb-xyz").bytes) == "0a0673622d78797a")
    }

    @Test func definitionWritesOptionalFieldsOnlyWhenSet() throws {
        var definition = SandboxDefinition(entrypointArgs: [], imageID: "im-1", memoryMB: 512, milliCPU: 1500, timeoutSecs: 60,
                                           blockNetwork: true, ports: [PortSpec(port: 80, unencrypted: true)], idleTimeoutSecs: 0,
                                           environment: ["A": "1"])
        var reader = ProtoReader(definition.bytes)
        var seen: [Int] = []
        while let field = try reader.next() {
            seen.append(field.number)
            if field.number == 33 { #expect(try field.uint32() == 0) }   // optional: present even at 0
        }
        #expect(seen == [3, 5, 7, 11, 20, 33, 40])
        definition.idleTimeoutSecs = nil
        definition.blockNetwork = false
        reader = ProtoReader(definition.bytes)
        seen = []
        while let field = try reader.next() { seen.append(field.number) }
        #expect(seen == [3, 5, 7, 20, 40])
    }

    @Test func resultsAndTunnelsDecode() throws {
        var writer = ProtoWriter()
        writer.message(1) { $0.int32(1, 3); $0.string(2, "terminated by user"); $0.int32(3, 137) }
        let wait = try SandboxWaitResponse(serializedBytes: writer.bytes)
        #expect(wait.result.isFinal && wait.result.statusName == "terminated" && wait.result.exitcode == 137)
        #expect(try !SandboxWaitResponse(serializedBytes: []).result.isFinal)

        var tunnel = ProtoWriter()
        tunnel.string(1, "abc.modal.host"); tunnel.uint32(2, 443); tunnel.uint32(5, 8080)
        var tcp = ProtoWriter()
        tcp.string(1, "r5.modal.host"); tcp.uint32(2, 443); tcp.string(3, "r5.modal.host"); tcp.uint32(4, 41234); tcp.uint32(5, 5432)
        var answer = ProtoWriter()
        answer.bytes(2, tunnel.bytes); answer.bytes(2, tcp.bytes); answer.uint64(99, 7)    // an unknown field is skipped
        let tunnels = try SandboxGetTunnelsResponse(serializedBytes: answer.bytes).tunnels.map(ModalPlugin.endpoint)
        #expect(tunnels == [
            Endpoint(name: "port-8080", kind: "https", targetPort: 8080, host: "abc.modal.host", port: 443,
                     url: "https://abc.modal.host", tls: true),
            Endpoint(name: "port-5432", kind: "tcp", targetPort: 5432, host: "r5.modal.host", port: 41234, url: nil, tls: false),
        ])
    }

    @Test func backstopIsTheLatestDeadlineCappedAtModalsDay() {
        var request = CreateRequest(sandboxId: "sbx-1", hostId: "h", profile: "p", image: nil, resources: ResourceLimits(),
                                    network: "bridge", env: [:], labels: [:], timeoutSeconds: 3_660)
        #expect(ModalPlugin.backstopSeconds(request) == 3_660)           // an older host: its timeout
        request.latestDeadlineSeconds = 14_460
        #expect(ModalPlugin.backstopSeconds(request) == 14_460)          // the profile's max + grace
        request.latestDeadlineSeconds = 3 * 86_400
        #expect(ModalPlugin.backstopSeconds(request) == 86_400)          // Modal's cap
        #expect(ModalPlugin.idleSeconds(request) == nil)
        request.idleTimeoutSeconds = 1_860
        #expect(ModalPlugin.idleSeconds(request) == 1_860)
    }

    @Test func createRequestCarriesTheAppendedFieldsOnTheWire() throws {
        let request = CreateRequest(sandboxId: "sbx-1", hostId: "h", profile: "p", image: nil, resources: ResourceLimits(),
                                    network: "none", env: [:], labels: [:], timeoutSeconds: 60,
                                    latestDeadlineSeconds: 7_260, idleTimeoutSeconds: 660)
        let json = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(request)) as? [String: Any])
        #expect(json["latest_deadline_seconds"] as? Int == 7_260)
        #expect(json["idle_timeout_seconds"] as? Int == 660)
        // An older host's request (without them) still decodes.
        let old = try JSONDecoder().decode(CreateRequest.self, from: Data("""
            {"sandbox_id":"sbx-1","host_id":"h","profile":"p","resources":{},"network":"none","env":{},"labels":{},"timeout_seconds":60}
            """.utf8))
        #expect(old.latestDeadlineSeconds == nil && old.idleTimeoutSeconds == nil)
    }

    @Test func configRules() throws {
        let host = PluginHost.standalone()
        let plugin = try ModalPlugin(config: ["server_url": "http://127.0.0.1:1", "encrypted_ports": [443]], host: host)
        #expect(plugin.config.app == "sandboxer" && plugin.config.image == "debian:bookworm-slim")
        #expect(plugin.config.portSpecs == [PortSpec(port: 443, unencrypted: false)])
        #expect(throws: PluginError.self) { try ModalPlugin(config: ["servr_url": "https://x"], host: host) }
        #expect(throws: PluginError.self) { try ModalPlugin(config: ["encrypted_ports": [1], "unencrypted_ports": [1]], host: host) }
        #expect(throws: PluginError.self) { try ModalPlugin(config: ["server_url": "ftp://x"], host: host) }
        // Plaintext h2c carries the token: refused for anything but loopback, at the first call.
        let remote = try ModalPlugin(config: ["server_url": "http://api.example.com"],
                                     host: .standalone(secrets: ["modal-token-id": "ak-1", "modal-token-secret": "as-1"]))
        #expect { try remote.rpc() } throws: { ($0 as? PluginError)?.code == .invalidRequest }
        // Without its secrets, an operation says which name is missing.
        #expect { try plugin.rpc() } throws: { ($0 as? PluginError)?.message.contains("modal-token-id") == true }
    }
}
