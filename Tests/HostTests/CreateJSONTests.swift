import FoundationEssentials
import Testing
@testable import PluginProtocol

/// `CreateRequest` written and read without `Codable` (`Messages+CreateJSON`): `JSONEncoder`'s bytes
/// with sorted keys, and what `JSONDecoder` reads and refuses.
@Suite struct CreateJSONTests {
    static let awkward = ExecStreamJSONTests.awkward

    static let requests = [
        CreateRequest(sandboxId: "sbx-1", hostId: "h", profile: "default", image: nil, resources: ResourceLimits(),
                      network: "none", env: [:], labels: [:], timeoutSeconds: nil),
        CreateRequest(sandboxId: "sbx-0123456789abcdef", hostId: awkward, profile: "p/\"q\"", image: "busybox",
                      resources: ResourceLimits(cpus: 0.5, memoryBytes: 536_870_912, pids: 512, diskBytes: 1 << 40),
                      network: "bridge", env: ["PATH": "/bin", "Z": awkward, "A": ""],
                      labels: ["sandboxer.host": "h", "sandboxer.sandbox": "sbx-0123456789abcdef", "sandboxer.profile": "p"],
                      timeoutSeconds: 3_630, latestDeadlineSeconds: 86_430, idleTimeoutSeconds: 630,
                      networkOptions: CreateNetworkOptions(egress: "nat", allowSandboxes: true,
                                                           publish: [.init(targetPort: 80), .init(targetPort: 443, hostPort: 8443, hostAddress: "127.0.0.1")]),
                      imageArtifact: BuildArtifact(kind: "rootfs-tar", path: "/var/lib/x.tar", digest: "sha256:" + String(repeating: "ab", count: 32),
                                                   sizeBytes: 9_007_199_254_740_993),
                      placement: ["zone": "a"]),
        CreateRequest(sandboxId: "s", hostId: "h", profile: "p", image: "", resources: ResourceLimits(cpus: 2, memoryBytes: Int64.max),
                      network: "", env: [:], labels: [:], timeoutSeconds: 0,
                      networkOptions: CreateNetworkOptions(publish: []), placement: [:]),
        CreateRequest(sandboxId: "s", hostId: "h", profile: "p", image: nil, resources: ResourceLimits(cpus: 1e-7),
                      network: "none", env: [:], labels: [:], timeoutSeconds: -1, networkOptions: CreateNetworkOptions()),
    ]

    @Test func writesJSONEncodersBytes() throws {
        for request in Self.requests {
            let data = try #require(request.jsonData)
            #expect(ExecStreamJSONTests.text(data) == (try ExecStreamJSONTests.encoded(request)))
        }
    }

    @Test func readsWhatJSONDecoderReads() throws {
        for request in Self.requests {
            let data = try #require(request.jsonData)
            #expect(try CreateRequest(json: data) == JSONDecoder().decode(CreateRequest.self, from: data))
        }
        // Exact where a Double would not be: 2^53 + 1 (size_bytes) and Int64.max (memory_bytes).
        for request in Self.requests {
            let data = try #require(request.jsonData)
            #expect(try CreateRequest(json: data) == request)
        }
        #expect(JSONObjectFields.mayHoldWideIntegers(Data("[123456789012345]".utf8)) == false)
        #expect(JSONObjectFields.mayHoldWideIntegers(Data("[1234567890123456]".utf8)))
        #expect(JSONObjectFields.mayHoldWideIntegers(Data("[999999999999999.5]".utf8)) == false)
        let extra = Data(#"{"unknown":[1,{"x":null}],"sandbox_id":"s","host_id":"h","profile":"p","image":null,"resources":{"cpus":1,"x":2},"network":"none","env":{},"labels":{},"placement":null}"#.utf8)
        #expect(try CreateRequest(json: extra) == JSONDecoder().decode(CreateRequest.self, from: extra))
    }

    @Test func aNumberWithoutAJSONFormIsRefusedAsJSONEncoderRefusesIt() {
        let request = CreateRequest(sandboxId: "s", hostId: "h", profile: "p", image: nil, resources: ResourceLimits(cpus: .infinity),
                                    network: "none", env: [:], labels: [:], timeoutSeconds: nil)
        #expect(request.jsonData == nil)
        #expect((try? ExecStreamJSONTests.encoded(request)) == nil)
    }

    static let base = #""sandbox_id":"s","host_id":"h","profile":"p","network":"none","env":{},"labels":{}"#
    @Test(arguments: [
        ("{\(base)}", JSONFieldError.missing("resources")),
        ("{\(base),\"resources\":[]}", JSONFieldError.wrongType("resources")),
        ("{\(base),\"resources\":{\"pids\":1.5}}", JSONFieldError.wrongType("pids")),
        ("{\(base),\"resources\":{\"memory_bytes\":\"1\"}}", JSONFieldError.wrongType("memory_bytes")),
        ("{\(base),\"resources\":{},\"network_options\":{\"publish\":[{}]}}", JSONFieldError.missing("target_port")),
        ("{\(base),\"resources\":{},\"network_options\":{\"publish\":{}}}", JSONFieldError.wrongType("publish")),
        ("{\(base),\"resources\":{},\"image_artifact\":{\"kind\":\"k\",\"path\":\"p\",\"digest\":\"d\"}}", JSONFieldError.missing("size_bytes")),
        ("{\(base),\"resources\":{},\"placement\":{\"a\":1}}", JSONFieldError.wrongType("placement")),
        ("{\"host_id\":\"h\",\"profile\":\"p\",\"network\":\"none\",\"env\":{},\"labels\":{},\"resources\":{}}", JSONFieldError.missing("sandbox_id")),
    ])
    func whatJSONDecoderRefusesIsRefused(text: String, error: JSONFieldError) {
        let data = Data(text.utf8)
        #expect((try? JSONDecoder().decode(CreateRequest.self, from: data)) == nil, "JSONDecoder accepts \(text)")
        #expect(throws: error) { try CreateRequest(json: data) }
    }
}
