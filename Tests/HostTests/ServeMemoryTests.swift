import Testing
@testable import CLI

/// `serve`'s memory knobs: the malloc arena limit (the operator's own setting wins).
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
}
