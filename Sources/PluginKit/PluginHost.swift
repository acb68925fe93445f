import FoundationEssentials
import Glibc
import PluginProtocol
import PluginABI

/// The host's callbacks as a Swift plugin sees them: log, clock, secrets.
///
/// Inside a loaded plugin it forwards to the `sbx_host_api` table; in a plugin's own unit tests
/// `PluginHost.standalone(...)` gives one backed by closures.
public final class PluginHost: @unchecked Sendable {
    // @unchecked: the ABI promises the host table is immutable, thread-safe and valid until exit;
    // the closures of a standalone host are Sendable.

    /// Severity of a log line (`sbx_log_level`).
    public typealias LogLevel = PluginLogLevel

    enum Backing {
        case abi(UnsafePointer<sbx_host_api>)
        case standalone(now: @Sendable () -> Date, secrets: [String: String], log: @Sendable (LogLevel, String) -> Void)
    }

    let backing: Backing

    init(backing: Backing) { self.backing = backing }

    /// A host for the host table passed to the entry function.
    public convenience init(api: UnsafePointer<sbx_host_api>) { self.init(backing: .abi(api)) }

    /// A host with no ABI behind it, for tests of a plugin type.
    public static func standalone(
        now: @escaping @Sendable () -> Date = { Date() },
        secrets: [String: String] = [:],
        log: @escaping @Sendable (LogLevel, String) -> Void = { _, _ in }
    ) -> PluginHost {
        PluginHost(backing: .standalone(now: now, secrets: secrets, log: log))
    }

    /// Logs one line through the host.
    public func log(_ level: LogLevel, _ message: String, metadata: [String: String] = [:]) {
        switch backing {
        case .abi(let api):
            guard let fn = Self.field(api, \.log) ?? nil else { return }
            let meta = metadata.isEmpty ? Data() : ((try? JSONEncoder().encode(metadata)) ?? Data())
            meta.withUnsafeBytes { raw in
                fn(Self.context(api), level.rawValue, message,
                   raw.bindMemory(to: UInt8.self).baseAddress, raw.count)
            }
        case .standalone(_, _, let log):
            log(level, message)
        }
    }

    /// The host's current time (a test may drive it).
    public func now() -> Date {
        switch backing {
        case .abi(let api):
            guard let fn = Self.field(api, \.now_unix_ms) ?? nil else { return Date() }
            return Date(timeIntervalSince1970: Double(fn(Self.context(api))) / 1000)
        case .standalone(let now, _, _):
            return now()
        }
    }

    /// Looks a secret up by name; nil when the host has none by that name.
    public func secret(_ name: String) -> String? {
        switch backing {
        case .abi(let api):
            guard let lookup = Self.field(api, \.secret_lookup) ?? nil else { return nil }
            var out: UnsafeMutablePointer<UInt8>? = nil
            var len = 0
            guard lookup(Self.context(api), name, &out, &len) == PluginError.successCode, let out else { return nil }
            defer { (Self.field(api, \.buffer_free) ?? nil)?(Self.context(api), out, len) }
            return String(decoding: UnsafeBufferPointer(start: out, count: len), as: UTF8.self)
        case .standalone(_, let secrets, _):
            return secrets[name]
        }
    }

    /// The host's ABI minor: which codes and rules it understands. Nil for a standalone host.
    var abiMinor: UInt32? {
        switch backing {
        case .abi(let api): Self.field(api, \.abi_minor)
        case .standalone: nil
        }
    }

    /// One field of the host table, or nil when the host's `struct_size` does not cover it (a field
    /// of a later minor than the host's). Every read of the host table goes through here, field by
    /// field: copying `api.pointee` whole would read sizeof(sbx_host_api) bytes, past the end of an
    /// older host's smaller table.
    static func field<T>(_ api: UnsafePointer<sbx_host_api>, _ key: KeyPath<sbx_host_api, T>) -> T? {
        let size = UnsafeRawPointer(api).load(as: Int.self) // struct_size: the first field, always present
        guard let offset = MemoryLayout<sbx_host_api>.offset(of: key),
              size >= offset + MemoryLayout<T>.size else { return nil }
        return UnsafeRawPointer(api).load(fromByteOffset: offset, as: T.self)
    }

    /// The `host_ctx` to pass back to every callback.
    static func context(_ api: UnsafePointer<sbx_host_api>) -> UnsafeMutableRawPointer? {
        field(api, \.host_ctx) ?? nil
    }

    /// Whether the host has given up on the call `callId`.
    func isCancelled(callId: UInt64) -> Bool {
        switch backing {
        case .abi(let api):
            guard let fn = Self.field(api, \.is_cancelled) ?? nil else { return false }
            return fn(Self.context(api), callId) != 0
        case .standalone:
            return false
        }
    }
}

/// One call from the host: lets a long operation notice that the host gave up on it.
public struct PluginCall: Sendable {
    let host: PluginHost?
    /// The host's identifier for this call.
    public let id: UInt64

    public init(host: PluginHost?, id: UInt64) { self.host = host; self.id = id }

    /// A call nobody will cancel (for direct use in tests).
    public static let detached = PluginCall(host: nil, id: 0)

    /// True once the host has given up on this call; stop early by throwing `.unavailable`. PluginKit
    /// answers such a call with SBX_CANCELLED when the host's ABI minor knows that code, and with
    /// SBX_UNAVAILABLE (and your message) otherwise.
    public var isCancelled: Bool { host?.isCancelled(callId: id) ?? false }
}
