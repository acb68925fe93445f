import Packer
import PluginABI
import PluginKit

// The exported entry lives in its own target so the tests can link the `Packer` target next to
// other plugins (one test binary may hold only one `sandboxer_plugin_entry_v1`).

/// The one exported entry point of libSandboxerPacker.so.
@_cdecl("sandboxer_plugin_entry_v1")
public func sandboxerPluginEntryV1(_ host: UnsafePointer<sbx_host_api>?) -> UnsafePointer<sbx_plugin>? {
    PluginExport.entry(PackerPlugin.self, host: host)
}
