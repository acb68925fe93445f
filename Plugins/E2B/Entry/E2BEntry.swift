import E2B
import PluginABI
import PluginKit

// The one exported entry point of libSandboxerE2B.so. It lives in its own target so the E2B module
// can be linked into the package's test binary, which already holds LocalVM's entry of the same name.

/// Returns the E2B plugin's function table for a host of ABI major 1, or NULL.
@_cdecl("sandboxer_plugin_entry_v1")
public func sandboxerPluginEntryV1(_ host: UnsafePointer<sbx_host_api>?) -> UnsafePointer<sbx_plugin>? {
    PluginExport.entry(E2BPlugin.self, host: host)
}
