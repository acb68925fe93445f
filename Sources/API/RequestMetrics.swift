import Glibc
import Synchronization

/// Per-request counters and latency histograms, kept in shards so the server's threads do not
/// queue on one lock, and keyed by plain values so recording a request builds no label text.
///
/// The Prometheus label text is built only when `/metrics` is scraped (`snapshot`), where shards
/// are summed; a request's count and its latency always land in the same shard under one lock, so
/// a scrape never sees a count without its latency.
final class RequestMetrics: Sendable {
    /// What one request is counted under.
    struct Key: Hashable, Sendable {
        var method: String
        var route: String
        var status: Int
    }

    /// One key's totals.
    struct Slot: Sendable {
        var count = 0
        var bucketCounts: [Int]
        var sum = 0.0

        mutating func add(_ seconds: Double, from first: Int) {
            count += 1
            sum += seconds
            var i = first
            while i < bucketCounts.count { bucketCounts[i] += 1; i += 1 }
        }
    }

    /// Summed over shards, for rendering: counts by key, and latency by route.
    struct Totals: Equatable {
        var requests: [Key: Int] = [:]
        var latencyCounts: [String: [Int]] = [:]
        var latencySum: [String: Double] = [:]
        var latencyTotal: [String: Int] = [:]
    }

    /// One shard's slots (a class: `Mutex` cannot be copied into an array).
    private final class Shard: Sendable {
        let slots = Mutex<[Key: Slot]>([:])
    }

    let buckets: [Double]
    private let shards: [Shard]

    /// `shards` is rounded up to a power of two so a thread's shard is a mask, not a division.
    init(buckets: [Double], shards: Int = 8) {
        self.buckets = buckets
        var n = 1
        while n < max(1, shards) { n <<= 1 }
        self.shards = (0..<n).map { _ in Shard() }
    }

    /// Records one answered request in the calling thread's shard.
    func record(method: String, route: String, status: Int, seconds: Double) {
        let key = Key(method: method, route: route, status: status)
        // The first bucket that holds `seconds`; every bucket from there on counts it (cumulative).
        let first = buckets.firstIndex { seconds <= $0 } ?? buckets.count
        shards[Self.shardIndex(count: shards.count)].slots.withLock { slots in
            // Mutated in place through the `default:` subscript (its value is built only for a new key):
            // no copy of the bucket array per request.
            slots[key, default: Slot(bucketCounts: [Int](repeating: 0, count: buckets.count))].add(seconds, from: first)
        }
    }

    /// The sums over every shard, at this moment.
    func snapshot() -> Totals {
        var totals = Totals()
        for shard in shards {
            let slots = shard.slots.withLock { $0 }
            for (key, slot) in slots {
                totals.requests[key, default: 0] += slot.count
                var counts = totals.latencyCounts[key.route] ?? [Int](repeating: 0, count: buckets.count)
                for i in counts.indices { counts[i] += slot.bucketCounts[i] }
                totals.latencyCounts[key.route] = counts
                totals.latencySum[key.route, default: 0] += slot.sum
                totals.latencyTotal[key.route, default: 0] += slot.count
            }
        }
        return totals
    }

    /// The calling thread's shard: threads are long-lived (the worker pool), so a hash of the thread
    /// id spreads them over the shards and keeps each on its own.
    private static func shardIndex(count: Int) -> Int {
        var h = UInt64(pthread_self())
        h ^= h >> 33
        h &*= 0xff51afd7ed558ccd
        h ^= h >> 33
        return Int(h & UInt64(count - 1))
    }
}
