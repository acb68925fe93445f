import FoundationEssentials
import Glibc
import Core
import Config
import PluginProtocol
import Basics
import PluginABI
import Synchronization

/// The host's side of the callbacks given to plugins: clock, secrets, log, and cancellation.
///
/// One context may serve many plugins. Loading a plugin retains its context forever (plugins may
/// call back at any time until the process exits, and are never unloaded).
public final class PluginHostContext: Sendable {
    let now: @Sendable () -> Date
    let secret: @Sendable (String) -> String?
    let log: @Sendable (PluginLogLine) -> Void
    /// Ids of calls the host gave up on; `is_cancelled` answers from here. Process-wide, like the
    /// call ids, so the answer is right even for a plugin that kept the host table of an earlier
    /// load (the same library loaded twice gets its entry called twice).
    private static let cancelled = Mutex<Set<UInt64>>([])
    private static let lastCallId = Atomic<UInt64>(0)

    /// A context whose clock, secrets and log sink are the given closures. Every line a plugin logs
    /// reaches `logLine`, bounded and attributed to its backend; the sink decides what to show.
    public init(now: @escaping @Sendable () -> Date,
                secret: @escaping @Sendable (String) -> String?,
                logLine: @escaping @Sendable (PluginLogLine) -> Void) {
        self.now = now
        self.secret = secret
        self.log = logLine
    }

    /// A context whose log sink takes the raw level, message and metadata text (tests pass a fake clock).
    public convenience init(now: @escaping @Sendable () -> Date,
                            secret: @escaping @Sendable (String) -> String?,
                            log: @escaping @Sendable (_ level: Int32, _ message: String, _ metadataJSON: String?) -> Void) {
        self.init(now: now, secret: secret, logLine: { log($0.level, $0.message, $0.metadataJSON) })
    }

    /// A fresh call id, never 0 and never reused in this process.
    func nextCallId() -> UInt64 {
        Self.lastCallId.add(1, ordering: .relaxed).newValue
    }

    /// Marks a call as given up: `is_cancelled(call_id)` answers 1 from now on.
    func cancel(_ callId: UInt64) {
        _ = Self.cancelled.withLock { $0.insert(callId) }
    }

    /// Forgets a call once its plugin thread has returned (ids are never reused).
    func forget(_ callId: UInt64) {
        _ = Self.cancelled.withLock { $0.remove(callId) }
    }

    /// Whether the host gave up on `callId`.
    func isCancelled(_ callId: UInt64) -> Bool {
        Self.cancelled.withLock { $0.contains(callId) }
    }

    /// The host's clock in whole milliseconds since the epoch (rounded, so a fake clock set to a
    /// whole millisecond reads back exactly).
    func nowUnixMs() -> Int64 {
        let ms = (now().timeIntervalSince1970 * 1000).rounded()
        guard ms.isFinite, abs(ms) < 9.2e18 else { return 0 }
        return Int64(ms)
    }

    /// A host table for one load of a plugin: `host_ctx` points at a `HostTableOwner` naming the
    /// backend the load is for, retained until exit. `abiMajor` is the host's unless a conformance
    /// check asks the plugin to refuse another major.
    ///
    /// The table itself is allocated and never freed: the ABI promises it stays valid until exit.
    func makeHostAPI(owner: HostTableOwner, abiMajor: UInt32 = UInt32(SANDBOXER_ABI_MAJOR)) -> UnsafePointer<sbx_host_api> {
        let api = UnsafeMutablePointer<sbx_host_api>.allocate(capacity: 1)
        api.initialize(to: sbx_host_api(
            struct_size: MemoryLayout<sbx_host_api>.size,
            abi_major: abiMajor,
            abi_minor: UInt32(SANDBOXER_ABI_MINOR),
            host_ctx: Unmanaged.passRetained(owner).toOpaque(),
            log: HostCallbacks.log,
            now_unix_ms: HostCallbacks.nowUnixMs,
            secret_lookup: HostCallbacks.secretLookup,
            buffer_free: HostCallbacks.bufferFree,
            is_cancelled: HostCallbacks.isCancelled))
        return UnsafePointer(api)
    }
}

/// What `host_ctx` points at: the context, and the backend one load of a plugin was made for, so
/// log lines can say which backend wrote them.
final class HostTableOwner: Sendable {
    let context: PluginHostContext
    private let name: Mutex<String>

    init(context: PluginHostContext, backend: String) {
        self.context = context
        self.name = Mutex(backend)
    }

    /// The backend name log lines carry.
    var backend: String {
        get { name.withLock { $0 } }
        set { name.withLock { $0 = newValue } }
    }
}

/// The C functions behind `sbx_host_api`; each finds its context through `host_ctx`.
enum HostCallbacks {
    static func owner(_ raw: UnsafeMutableRawPointer?) -> HostTableOwner? {
        raw.map { Unmanaged<HostTableOwner>.fromOpaque($0).takeUnretainedValue() }
    }

    static func context(_ raw: UnsafeMutableRawPointer?) -> PluginHostContext? {
        owner(raw)?.context
    }

    /// Reads at most what the host keeps of the message and the metadata (a plugin may pass megabytes).
    static let log: @convention(c) (UnsafeMutableRawPointer?, Int32, UnsafePointer<CChar>?,
                                    UnsafePointer<UInt8>?, Int) -> Void = { raw, level, message, meta, metaLen in
        guard let owner = owner(raw) else { return }
        let limit = PluginLimits.messageBytes
        var text = ""
        if let message {
            // Counting is cheap; copying is what is bounded.
            let length = strlen(message)
            let kept = min(length, limit + 1)
            let bytes = message.withMemoryRebound(to: UInt8.self, capacity: kept) { Data(bytes: $0, count: kept) }
            text = PluginLimits.oneLine(bytes, total: length)
        }
        var metadata: String? = nil
        if let meta, metaLen > 0 {
            let kept = Data(bytes: meta, count: min(metaLen, limit + 1))
            metadata = PluginLimits.oneLine(kept, total: metaLen)
        }
        owner.context.log(PluginLogLine(backend: owner.backend, level: level, message: text, metadataJSON: metadata))
    }

    static let nowUnixMs: @convention(c) (UnsafeMutableRawPointer?) -> Int64 = { raw in
        context(raw)?.nowUnixMs() ?? 0
    }

    /// Copies the secret into malloc'd memory: `buffer_free` releases it with free().
    static let secretLookup: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?,
                                             UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
                                             UnsafeMutablePointer<Int>?) -> Int32 = { raw, name, out, outLen in
        guard let ctx = context(raw), let name, let out, let outLen else { return PluginError.Code.invalidRequest.rawValue }
        out.pointee = nil
        outLen.pointee = 0
        guard let value = ctx.secret(String(cString: name)) else { return PluginError.Code.notFound.rawValue }
        let bytes = Array(value.utf8)
        guard let buffer = malloc(max(bytes.count, 1))?.assumingMemoryBound(to: UInt8.self) else {
            return PluginError.Code.internal.rawValue
        }
        bytes.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { buffer.update(from: base, count: bytes.count) }
        }
        out.pointee = buffer
        outLen.pointee = bytes.count
        return PluginError.successCode
    }

    static let bufferFree: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<UInt8>?, Int) -> Void = { _, data, _ in
        free(data)
    }

    static let isCancelled: @convention(c) (UnsafeMutableRawPointer?, UInt64) -> Int32 = { raw, callId in
        (context(raw)?.isCancelled(callId) ?? false) ? 1 : 0
    }
}
