import CMallocShims

/// How `serve` keeps its resident memory small where glibc's defaults are tuned for throughput:
/// fewer malloc arenas, and the memory freed after start-up given back to the kernel.
///
/// Measured (docs/performance.md, "serve's memory"): with the default of 8 arenas per core, each
/// thread that ever mallocs ends up with its own arena, and what a burst of requests frees in it
/// stays resident (about +3 MB after 1,000 creates, and 3-4 MB more after listing them); two arenas
/// more than halve that.
/// The hot path's small allocations come from glibc's per-thread cache (tcache) and rarely reach
/// an arena's lock.
enum ServeMemory {
    /// Arenas `serve` lets malloc use (glibc's default is 8 per core).
    static let arenaLimit: Int32 = 2

    /// The arena limit `serve` sets, or nil when the operator chose one (`MALLOC_ARENA_MAX`, or
    /// `glibc.malloc.arena_max` in `GLIBC_TUNABLES`): theirs wins.
    static func arenaLimit(environment: [String: String]) -> Int32? {
        if environment["MALLOC_ARENA_MAX"] != nil { return nil }
        if let tunables = environment["GLIBC_TUNABLES"], tunables.contains("glibc.malloc.arena_max") { return nil }
        return arenaLimit
    }

    /// Limits malloc's arenas unless the environment already does; call before `serve` starts its
    /// threads (an arena is picked when a thread first mallocs). Returns the limit it set.
    @discardableResult
    static func limitArenas(environment: [String: String]) -> Int32? {
        guard let limit = arenaLimit(environment: environment), cmalloc_set_arena_max(limit) == 1 else { return nil }
        return limit
    }

    /// Returns the heap pages start-up freed (configuration, the OpenAPI document parsed into a tree
    /// and rendered once, store migrations) to the kernel. Cheap enough to call once; not per request.
    static func releaseFreedMemory() {
        _ = cmalloc_trim()
    }
}
