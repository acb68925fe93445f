import Foundation
import Testing
@testable import HTTPServer
@testable import CLI
@testable import API

/// `serve`'s memory knobs: the malloc arena limit (the operator's own setting wins) and the bound on
/// the method label of the request counter.
@Suite("serve memory")
struct ServeMemoryTests {
    @Test func serveLimitsArenasUnlessTheEnvironmentDoes() {
        #expect(ServeMemory.arenaLimit(environment: [:]) == ServeMemory.arenaLimit)
        #expect(ServeMemory.arenaLimit(environment: ["GLIBC_TUNABLES": "glibc.malloc.tcache_count=0"]) == ServeMemory.arenaLimit)
        #expect(ServeMemory.arenaLimit(environment: ["MALLOC_ARENA_MAX": "8"]) == nil)
        #expect(ServeMemory.arenaLimit(environment: ["GLIBC_TUNABLES": "glibc.malloc.check=0:glibc.malloc.arena_max=4"]) == nil)
    }

    @Test func theArenaLimitIsAppliedByMalloc() {
        // mallopt answers 1 only when it accepted the setting; the limit is process-wide and
        // harmless to the other tests (they only ever share arenas more).
        #expect(ServeMemory.limitArenas(environment: [:]) == ServeMemory.arenaLimit)
        #expect(ServeMemory.limitArenas(environment: ["MALLOC_ARENA_MAX": "8"]) == nil)
    }

    @Test func requestCountersDoNotGrowWithInventedMethods() throws {
        let x = try APITests.Fixture(tokens: false)
        func counterLines() -> [Substring] {
            let body = x.api.handle(HTTPRequest(method: "GET", target: "/metrics", headers: HTTPHeaders(), body: Data())).body
            return String(decoding: body, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("sandboxer_http_requests_total{") }
        }
        for i in 0..<500 {
            let status = x.api.handle(HTTPRequest(method: "INVENTED\(i)", target: "/v1/nowhere", headers: HTTPHeaders(), body: Data())).status
            #expect(status >= 400)
        }
        let lines = counterLines()
        #expect(lines.filter { $0.contains("INVENTED") }.isEmpty)
        #expect(lines.contains { $0.contains("method=\"other\"") && $0.contains("route=\"unmatched\"") && $0.hasSuffix(" 500") })
        #expect(lines.count <= 3, "one counter per method/route/status seen: \(lines)")
    }
}
