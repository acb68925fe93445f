import Foundation
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

    /// "plugin foo 0.3.0, ABI 1.0": how messages name this plugin.
    var identity: String { "plugin \(name) \(version), ABI \(abiMajor).\(abiMinor)" }

    /// Calls instance_create with the backend config as JSON, then `describe`.
    public func makeBackend(name backendName: String, config: JSONValue, callTimeout: Double) throws(PluginLoadError) -> Backend {
        let fail = { (why: String) in
            PluginLoadError(.instanceFailed, "Cannot create backend '\(backendName)' from plugin \(self.path) (\(self.identity)): \(why)")
        }
        let configBytes: Data
        do {
            configBytes = try JSONEncoder().encode(config)
        } catch {
            throw fail("its config cannot be encoded as JSON.")
        }
        var instance: UnsafeMutableRawPointer? = nil
        var result = sbx_result(struct_size: MemoryLayout<sbx_result>.size, data: nil, len: 0, plugin_reserved: nil)
        let code = configBytes.withUnsafeBytes { raw in
            functions.instanceCreate(table, raw.bindMemory(to: UInt8.self).baseAddress, raw.count, &instance, &result)
        }
        let message = Backend.oneLine(result.data.map { Data(bytes: $0, count: result.len) } ?? Data())
        functions.resultFree(&result)
        guard code == PluginError.successCode else {
            let codeName = BackendError.Code(abiCode: code)?.rawValue ?? "code \(code)"
            throw fail("\(codeName): \(message.isEmpty ? "the plugin gave no reason." : message)")
        }
        guard let instance else { throw fail("instance_create succeeded but returned no instance.") }

        // If describe fails, dropping `handle` destroys the instance (once no call is still inside it).
        let handle = PluginInstance(plugin: self, pointer: instance, backend: backendName)
        let described: DescribeResponse
        do throws(BackendError) {
            described = try Backend.decode(DescribeResponse.self, handle.call(Operation.describe, Data("{}".utf8), timeout: callTimeout),
                                           backend: backendName, operation: Operation.describe)
        } catch {
            throw fail("describe failed (\(error.code.rawValue)): \(error.message)")
        }
        return Backend(name: backendName, instance: handle, capabilities: described.capabilities, defaultTimeout: callTimeout)
    }
}
