import Foundation
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
            guard let fn = api.pointee.log else { return }
            let meta = metadata.isEmpty ? Data() : ((try? JSONEncoder().encode(metadata)) ?? Data())
            meta.withUnsafeBytes { raw in
                fn(api.pointee.host_ctx, level.rawValue, message,
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
            guard let fn = api.pointee.now_unix_ms else { return Date() }
            return Date(timeIntervalSince1970: Double(fn(api.pointee.host_ctx)) / 1000)
        case .standalone(let now, _, _):
            return now()
        }
    }

    /// Looks a secret up by name; nil when the host has none by that name.
    public func secret(_ name: String) -> String? {
        switch backing {
        case .abi(let api):
            guard let lookup = api.pointee.secret_lookup else { return nil }
            var out: UnsafeMutablePointer<UInt8>? = nil
            var len = 0
            guard lookup(api.pointee.host_ctx, name, &out, &len) == PluginError.successCode, let out else { return nil }
            defer { api.pointee.buffer_free?(api.pointee.host_ctx, out, len) }
            return String(decoding: UnsafeBufferPointer(start: out, count: len), as: UTF8.self)
        case .standalone(_, let secrets, _):
            return secrets[name]
        }
    }

    /// Whether the host has given up on the call `callId`.
    func isCancelled(callId: UInt64) -> Bool {
        switch backing {
        case .abi(let api):
            guard let fn = api.pointee.is_cancelled else { return false }
            return fn(api.pointee.host_ctx, callId) != 0
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

    /// True once the host has given up on this call; stop early with `.unavailable`.
    public var isCancelled: Bool { host?.isCancelled(callId: id) ?? false }
}
