import FoundationEssentials
import Glibc
import Core
import Config
import PluginProtocol
import Basics
import PluginABI

/// A plugin library that passed the loader's checks: its identity and its function table.
public final class LoadedPlugin: @unchecked Sendable {
    // @unchecked: every stored property is immutable; the table and its strings have static storage
    // per the ABI (valid until exit, never unloaded) and the plugin's functions are thread-safe per
    // the ABI.

    /// The C functions of the table, read once at load time.
    struct Functions {
        let instanceCreate: @convention(c) (UnsafePointer<sbx_plugin>?, UnsafePointer<UInt8>?, Int,
                                            UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                            UnsafeMutablePointer<sbx_result>?) -> Int32
        let invoke: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafePointer<UInt8>?, Int,
                                    UInt64, UnsafeMutablePointer<sbx_result>?) -> Int32
        let resultFree: @convention(c) (UnsafeMutablePointer<sbx_result>?) -> Void
        let instanceDestroy: @convention(c) (UnsafeMutableRawPointer?) -> Void
    }

    /// The path the plugin was loaded from, as given.
    public let path: String
    /// The plugin's name from its table.
    public let name: String
    /// The plugin's version from its table.
    public let version: String
    /// The plugin's ABI major version (always the host's).
    public let abiMajor: UInt32
    /// The plugin's ABI minor version (may differ from the host's).
    public let abiMinor: UInt32

    let table: UnsafePointer<sbx_plugin>
    let functions: Functions
    let context: PluginHostContext

    init(path: String, name: String, version: String, abiMajor: UInt32, abiMinor: UInt32,
         table: UnsafePointer<sbx_plugin>, functions: Functions, context: PluginHostContext) {
        self.path = path
        self.name = name
        self.version = version
        self.abiMajor = abiMajor
        self.abiMinor = abiMinor
        self.table = table
        self.functions = functions
        self.context = context
    }

    /// The plugin's identity as a value (what a backend on it reports).
    var info: PluginIdentity {
        PluginIdentity(path: path, name: name, version: version, abiMajor: abiMajor, abiMinor: abiMinor)
    }

    /// "plugin foo 0.3.0, ABI 1.0": how messages name this plugin.
    var identity: String { "plugin \(name) \(version), ABI \(abiMajor).\(abiMinor)" }

    /// Calls instance_create with the backend config as JSON, then `describe`. `deadlines` (the
    /// backend's `timeouts:` map) applies to every call, `describe` included; success responses
    /// above `maxResponseBytes` are refused.
    public func makeBackend(name backendName: String, config: JSONValue, callTimeout: Double,
                            deadlines: BackendDeadlines = BackendDeadlines(),
                            maxResponseBytes: Int = PluginLimits.defaultResponseBytes) throws(PluginLoadError) -> Backend {
        // If describe fails, dropping `handle` destroys the instance (once no call is still inside it).
        let handle = try makeInstance(name: backendName, config: config, maxResponseBytes: maxResponseBytes)
        let described: DescribeResponse
        do throws(BackendError) {
            let timeout = deadlines.resolve(Operation.describe, requested: callTimeout)
            // Read without Codable (`DescribeResponse.init(json:)`: what JSONDecoder reads, in its words).
            let answer = try handle.call(Operation.describe, EmptyResponse.jsonData, timeout: timeout)
            described = try Backend.read(answer, backend: backendName, operation: Operation.describe, DescribeResponse.init(json:))
        } catch {
            throw instanceFailure(backendName, "describe failed (\(error.code.rawValue)): \(error.message)")
        }
        return Backend(name: backendName, instance: handle, capabilities: described.capabilities, defaultTimeout: callTimeout,
                       deadlines: deadlines)
    }

    /// A backend on a fresh instance whose `describe` was not called (its `capabilities` are empty):
    /// for `plugin check`, which judges `describe` itself.
    package func makeUndescribedBackend(name backendName: String, config: JSONValue, callTimeout: Double) throws(PluginLoadError) -> Backend {
        let handle = try makeInstance(name: backendName, config: config, maxResponseBytes: PluginLimits.defaultResponseBytes)
        return Backend(name: backendName, instance: handle, capabilities: [], defaultTimeout: callTimeout)
    }

    /// Calls the plugin's `result_free` on a result that holds nothing (NULL data, length 0), which
    /// the ABI says it MUST accept.
    package func freeEmptyResult() {
        var result = sbx_result(struct_size: MemoryLayout<sbx_result>.size, data: nil, len: 0, plugin_reserved: nil)
        functions.resultFree(&result)
    }

    /// Calls instance_create with the backend config as JSON.
    func makeInstance(name backendName: String, config: JSONValue, maxResponseBytes: Int) throws(PluginLoadError) -> PluginInstance {
        // Written without Codable (JSONEncoder's first use costs a one-shot CLI its runtime lookups).
        guard let configBytes = JSONObjectWriter.document(config) else {
            throw instanceFailure(backendName, "its config cannot be encoded as JSON.")
        }
        var instance: UnsafeMutableRawPointer? = nil
        var result = sbx_result(struct_size: MemoryLayout<sbx_result>.size, data: nil, len: 0, plugin_reserved: nil)
        let code = configBytes.withUnsafeBytes { raw in
            functions.instanceCreate(table, raw.bindMemory(to: UInt8.self).baseAddress, raw.count, &instance, &result)
        }
        // Only an error's message is read, and only as much of it as the host keeps.
        let message = code == 0 ? "" : PluginReply.copy(code: code, from: result, maxResponseBytes: 0).message
        functions.resultFree(&result)
        guard code == PluginError.successCode else {
            let codeName = BackendError.Code(abiCode: code)?.rawValue ?? "code \(code)"
            throw instanceFailure(backendName, "\(codeName): \(message.isEmpty ? "the plugin gave no reason." : message)")
        }
        guard let instance else { throw instanceFailure(backendName, "instance_create succeeded but returned no instance.") }
        return PluginInstance(plugin: self, pointer: instance, backend: backendName, maxResponseBytes: maxResponseBytes)
    }

    func instanceFailure(_ backendName: String, _ why: String) -> PluginLoadError {
        PluginLoadError(.instanceFailed, "Cannot create backend '\(backendName)' from plugin \(path) (\(identity)): \(why)")
    }
}
