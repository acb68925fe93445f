import FoundationEssentials
import Glibc
import PluginProtocol
import PluginABI

/// Builds the C function table for a Swift plugin type: the glue behind the one exported entry.
///
/// A plugin exports its entry with:
/// ```swift
/// @_cdecl("sandboxer_plugin_entry_v1")
/// public func sandboxerPluginEntryV1(_ host: UnsafePointer<sbx_host_api>?) -> UnsafePointer<sbx_plugin>? {
///     PluginExport.entry(MyPlugin.self, host: host)
/// }
/// ```
public enum PluginExport {
    /// The table the host sees, followed by what this kit needs to find the Swift type again.
    /// `base` comes first so a `sbx_plugin *` is also a `ExportedTable *`.
    struct ExportedTable {
        var base: sbx_plugin
        var factory: Unmanaged<Factory>
    }

    /// Creates instances of one plugin type for one host.
    final class Factory: @unchecked Sendable {
        // @unchecked: immutable after init; the host table it points to is valid until exit.
        let host: PluginHost
        let make: (JSONValue, PluginHost) throws(PluginError) -> any SandboxerPlugin
        init(host: PluginHost, make: @escaping (JSONValue, PluginHost) throws(PluginError) -> any SandboxerPlugin) {
            self.host = host
            self.make = make
        }
    }

    /// What an instance pointer handed to the host refers to.
    final class Instance {
        let plugin: any SandboxerPlugin
        let host: PluginHost
        init(plugin: any SandboxerPlugin, host: PluginHost) { self.plugin = plugin; self.host = host }
    }

    /// Checks the host's ABI and returns a table for `type`, or nil to refuse the host.
    public static func entry<P: SandboxerPlugin>(_ type: P.Type, host: UnsafePointer<sbx_host_api>?) -> UnsafePointer<sbx_plugin>? {
        // Against the frozen size of ABI 1.0 (all this kit needs), never MemoryLayout<sbx_host_api>.size:
        // built against a later minor's header, that would refuse every older host.
        guard let host, host.pointee.struct_size >= Int(SBX_HOST_API_V1_0_SIZE),
              PluginHost.field(host, \.abi_major) == UInt32(SANDBOXER_ABI_MAJOR) else { return nil }
        let pluginHost = PluginHost(api: host)
        let factory = Factory(host: pluginHost) { (config, h) throws(PluginError) in try P(config: config, host: h) }
        // The table lives until process exit: the host never unloads a plugin.
        let table = UnsafeMutablePointer<ExportedTable>.allocate(capacity: 1)
        table.initialize(to: ExportedTable(base: v1Table(name: P.name, version: P.version),
                                           factory: Unmanaged.passRetained(factory)))
        return UnsafeRawPointer(table).assumingMemoryBound(to: sbx_plugin.self)
    }

    /// The table with the v1.0 functions this kit implements. Zero-initialised, then assigned field
    /// by field rather than through the memberwise initialiser: that initialiser gains a parameter
    /// with every field a minor appends, so this kit would stop compiling against the next header.
    /// Fields of later minors stay NULL, which readers take as "not provided".
    static func v1Table(name: String, version: String) -> sbx_plugin {
        var base = sbx_plugin()
        base.struct_size = MemoryLayout<sbx_plugin>.size
        base.abi_major = UInt32(SANDBOXER_ABI_MAJOR)
        base.abi_minor = UInt32(SANDBOXER_ABI_MINOR)
        base.name = staticCString(name)
        base.version = staticCString(version)
        base.instance_create = instanceCreate
        base.invoke = invoke
        base.result_free = resultFree
        base.instance_destroy = instanceDestroy
        return base
    }

    /// A C string that is never freed (the ABI wants static storage for name and version).
    static func staticCString(_ s: String) -> UnsafePointer<CChar> {
        UnsafePointer(strdup(s)!)
    }

    /// Copies bytes into a result the host will hand back to `resultFree`.
    static func fill(_ out: UnsafeMutablePointer<sbx_result>?, _ bytes: Data) {
        // A host sets struct_size; one that covers less than v1.0's `len` gets nothing written.
        guard let out, out.pointee.struct_size >= Int(SBX_RESULT_V1_0_SIZE) else { return }
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: max(bytes.count, 1))
        bytes.copyBytes(to: buffer, count: bytes.count)
        out.pointee.data = buffer
        out.pointee.len = bytes.count
    }

    static let instanceCreate: @convention(c) (UnsafePointer<sbx_plugin>?, UnsafePointer<UInt8>?, Int,
                                               UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                               UnsafeMutablePointer<sbx_result>?) -> Int32 = { table, config, len, outInstance, out in
        guard let table, let outInstance else { return PluginError.Code.invalidRequest.rawValue }
        let factory = UnsafeRawPointer(table).assumingMemoryBound(to: ExportedTable.self).pointee.factory.takeUnretainedValue()
        let bytes = config.map { Data(bytes: $0, count: len) } ?? Data()
        // Read with JSONReader, not JSONDecoder: the same value, without Codable's first-use lookups
        // that a one-shot CLI would pay at every plugin load.
        guard let json = bytes.isEmpty ? JSONValue.object([:]) : JSONReader.parse(bytes) else {
            fill(out, Data("The backend config is not valid JSON.".utf8))
            return PluginError.Code.invalidRequest.rawValue
        }
        do throws(PluginError) {
            let plugin = try factory.make(json, factory.host)
            outInstance.pointee = Unmanaged.passRetained(Instance(plugin: plugin, host: factory.host)).toOpaque()
            return PluginError.successCode
        } catch {
            fill(out, Data(error.message.utf8))
            return error.code.rawValue
        }
    }

    static let invoke: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafePointer<UInt8>?, Int,
                                       UInt64, UnsafeMutablePointer<sbx_result>?) -> Int32 = { raw, op, request, len, callId, out in
        guard let raw, let op else {
            fill(out, Data("The call named no instance or no operation.".utf8))
            return PluginError.Code.invalidRequest.rawValue
        }
        let instance = Unmanaged<Instance>.fromOpaque(raw).takeUnretainedValue()
        let body = request.map { Data(bytes: $0, count: len) } ?? Data()
        let call = PluginCall(host: instance.host, id: callId)
        do throws(PluginError) {
            fill(out, try instance.plugin.invoke(operation: String(cString: op), request: body, call: call))
            return PluginError.successCode
        } catch {
            fill(out, Data(error.message.utf8))
            return wireCode(error.code, call: call)
        }
    }

    /// The code to return for a failed call. `unavailable` on a call the host cancelled becomes
    /// SBX_CANCELLED, but only for a host whose ABI minor knows that code (1.1 on); an older host gets
    /// `unavailable`, the only cancellation answer it understands.
    /// A plugin that throws `.cancelled` itself gets the same treatment.
    static func wireCode(_ code: PluginError.Code, call: PluginCall) -> Int32 {
        let hostKnowsCancelled = (call.host?.abiMinor).map { $0 >= UInt32(SBX_CANCELLED_MIN_HOST_MINOR) } ?? false
        switch code {
        case .cancelled:
            return hostKnowsCancelled ? code.rawValue : PluginError.Code.unavailable.rawValue
        case .unavailable where hostKnowsCancelled && call.isCancelled:
            return PluginError.Code.cancelled.rawValue
        default:
            return code.rawValue
        }
    }

    static let resultFree: @convention(c) (UnsafeMutablePointer<sbx_result>?) -> Void = { result in
        guard let result, let data = result.pointee.data else { return }
        data.deallocate()
        result.pointee.data = nil
        result.pointee.len = 0
    }

    static let instanceDestroy: @convention(c) (UnsafeMutableRawPointer?) -> Void = { raw in
        guard let raw else { return }
        Unmanaged<Instance>.fromOpaque(raw).release()
    }
}
