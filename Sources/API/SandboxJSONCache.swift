import FoundationEssentials
import Core
import Store
import Synchronization

/// The sandboxes `GET /v1/sandboxes/{id}` answered recently, each with its rendered JSON and the store
/// stamp (`StoreVersion`) its row was read at.
///
/// Exact, never stale: an entry is used only while the store's stamp still equals the one taken
/// before its row was read, and any write moves the stamp: this process's own writes (create,
/// destroy, extend, labels, events, anything through the store's connection) and every other
/// process's commits alike. On a stamp mismatch the row is read again; if it is unchanged its
/// rendering is kept (a write elsewhere in the store costs one row read, not one render).
final class SandboxJSONCache: Sendable {
    struct Entry: Sendable {
        var version: StoreVersion
        var sandbox: Sandbox
        var json: Data
    }

    /// Bounds the memory held: past this many ids, the cache starts over.
    let capacity: Int
    private let entries = Mutex<[String: Entry]>([:])

    init(capacity: Int = 1024) {
        self.capacity = max(1, capacity)
    }

    /// The sandbox `id` and its JSON body (with the trailing newline every answer has), current as of
    /// this call; nil when no sandbox has the id.
    func lookup(_ id: String, in store: SandboxStore) throws(StoreError) -> (sandbox: Sandbox, json: Data)? {
        let cached = entries.withLock { $0[id] }
        if let cached, try store.version() == cached.version { return (cached.sandbox, cached.json) }
        let (row, version) = try store.getVersioned(id: id)
        guard let sandbox = row else {
            entries.withLock { _ = $0.removeValue(forKey: id) }
            return nil
        }
        let json = cached.flatMap { $0.sandbox == sandbox ? $0.json : nil } ?? Self.render(sandbox)
        entries.withLock { entries in
            if entries[id] == nil, entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[id] = Entry(version: version, sandbox: sandbox, json: json)
        }
        return (sandbox, json)
    }

    /// The cached sandbox `id` and its JSON when its stamp is still the store's, checked without
    /// waiting: nil when not cached, out of date, or the store's lock is held by another thread.
    func lookupIfCurrent(_ id: String, in store: SandboxStore) throws(StoreError) -> (sandbox: Sandbox, json: Data)? {
        guard let cached = entries.withLock({ $0[id] }),
              let version = try store.versionIfFree(), version == cached.version else { return nil }
        return (cached.sandbox, cached.json)
    }

    /// The JSON of `sandbox`: the cached rendering when the cached row is this very value (equal in
    /// every field, so equal JSON), else a fresh one.
    func json(for sandbox: Sandbox) -> Data {
        if let cached = entries.withLock({ $0[sandbox.id] }), cached.sandbox == sandbox { return cached.json }
        return Self.render(sandbox)
    }

    /// The body every front renders for a sandbox (compact, trailing newline).
    static func render(_ sandbox: Sandbox) -> Data {
        Data(sandbox.jsonValue.rendered(pretty: false).utf8)
    }

    /// How many ids are held (for tests).
    var count: Int { entries.withLock { $0.count } }
}
