import FoundationEssentials
import Core
import Config
import PluginProtocol
import Basics
import Glibc
import PluginABI

/// Loads backend plugins: checks the file, dlopens it, calls its entry, checks the ABI.
public enum PluginLoader {
    /// The ABI this host speaks, as "major.minor".
    public static let hostABI = "\(SANDBOXER_ABI_MAJOR).\(SANDBOXER_ABI_MINOR)"

    /// Bytes of the v1.0 `sbx_plugin` table: a plugin table smaller than this is malformed. The frozen
    /// size from the header, not `MemoryLayout<sbx_plugin>.size`: that grows when a minor appends a
    /// field, and a host built against the newer header must still load every older minor's plugins.
    static let v1TableSize = Int(SBX_PLUGIN_V1_0_SIZE)

    /// Bytes of the prefix every major keeps (struct_size, abi_major, abi_minor, name, version), so a
    /// host can name what it refuses even when the rest of the table is another major's layout.
    static let stablePrefixSize = MemoryLayout<sbx_plugin>.offset(of: \sbx_plugin.version)! + MemoryLayout<UnsafePointer<CChar>?>.size

    /// dlopen(RTLD_NOW|RTLD_LOCAL|RTLD_NODELETE) an absolute path, check permissions, call the entry,
    /// check versions. Never dlclose. `backend` names the backend this load is for: the plugin's log
    /// lines carry it (nil: the plugin's own name).
    public static func load(path: String, context: PluginHostContext, backend: String? = nil) throws(PluginLoadError) -> LoadedPlugin {
        let entry = try openEntry(path: path)
        let owner = HostTableOwner(context: context, backend: backend ?? "(loading)")
        guard let table = entry(context.makeHostAPI(owner: owner)) else {
            throw PluginLoadError(.refused, "Cannot load plugin \(path): the plugin refused this host (host ABI \(hostABI)); it was probably built for another ABI.")
        }
        let plugin = try check(table: table, path: path, context: context)
        if backend == nil { owner.backend = plugin.name }
        return plugin
    }

    /// Calls the entry of the library at `path` with a host table that claims ABI major `abiMajor`
    /// and says whether the plugin returned a table (true) or refused (false). The table is never
    /// used. For `plugin check`: a plugin MUST refuse a host of another major, and MUST NOT call back
    /// while refusing (the clock, secret and log callbacks reach `context`, so the caller can see).
    package static func entryAccepts(path: String, context: PluginHostContext, abiMajor: UInt32) throws(PluginLoadError) -> Bool {
        let entry = try openEntry(path: path)
        // A plugin that wrongly accepts may keep this table: it stays valid (and working) until exit.
        let owner = HostTableOwner(context: context, backend: "(abi \(abiMajor) probe)")
        return entry(context.makeHostAPI(owner: owner, abiMajor: abiMajor)) != nil
    }

    /// Checks the file, dlopens it and finds the entry symbol.
    static func openEntry(path: String) throws(PluginLoadError) -> sbx_plugin_entry_fn {
        guard path.hasPrefix("/") else {
            throw PluginLoadError(.notAbsolute, "Cannot load plugin \(path): the path is not absolute; give the full path to the shared library.")
        }
        let resolved = try checkFile(path)

        // RTLD_NOW: fail here on a missing symbol, not at the first call. RTLD_LOCAL: two plugins
        // never see each other's symbols. RTLD_NODELETE: a Swift image must never be unmapped.
        guard let handle = dlopen(resolved, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            throw PluginLoadError(.dlopenFailed, "Cannot load plugin \(path): dlopen failed: \(lastDlerror()).")
        }
        // The handle is deliberately never closed (see above).
        _ = dlerror()
        guard let symbol = dlsym(handle, SANDBOXER_PLUGIN_ENTRY_SYMBOL) else {
            throw PluginLoadError(.missingEntry, "Cannot load plugin \(path): it does not export \(SANDBOXER_PLUGIN_ENTRY_SYMBOL), so it is not a sandboxer plugin for ABI \(SANDBOXER_ABI_MAJOR) (this host speaks plugin ABI \(hostABI)).")
        }
        return unsafeBitCast(symbol, to: sbx_plugin_entry_fn.self)
    }

    /// Resolves symlinks and refuses anything but a regular file that only its owner can write, in a
    /// directory that only its owner can write (anyone else could swap the code we run).
    static func checkFile(_ path: String) throws(PluginLoadError) -> String {
        guard let real = realpath(path, nil) else {
            let reason = errno == ENOENT || errno == ENOTDIR ? "no such file" : "cannot resolve the path (\(String(cString: strerror(errno))))"
            throw PluginLoadError(.notFound, "Cannot load plugin \(path): \(reason).")
        }
        let resolved = String(cString: real)
        free(real)
        var st = stat()
        guard stat(resolved, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw PluginLoadError(.notFound, "Cannot load plugin \(path): it is not a regular file.")
        }
        let unsafeBits = mode_t(S_IWGRP | S_IWOTH)
        if st.st_mode & unsafeBits != 0 {
            throw PluginLoadError(.insecurePermissions, "Cannot load plugin \(path): the file is writable by group or others (mode \(octal(st.st_mode))); make it writable only by its owner (chmod go-w).")
        }
        var dirs = [(resolved).deletingLastPathComponent]
        let givenDir = (path).deletingLastPathComponent
        if givenDir != dirs[0] { dirs.append(givenDir) }
        for dir in dirs {
            var dst = stat()
            guard stat(dir, &dst) == 0 else {
                throw PluginLoadError(.notFound, "Cannot load plugin \(path): cannot read its directory \(dir).")
            }
            if dst.st_mode & unsafeBits != 0 {
                throw PluginLoadError(.insecurePermissions, "Cannot load plugin \(path): its directory \(dir) is writable by group or others (mode \(octal(dst.st_mode))); make it writable only by its owner (chmod go-w).")
            }
        }
        return resolved
    }

    /// Reads and checks the table the entry returned.
    static func check(table: UnsafePointer<sbx_plugin>, path: String, context: PluginHostContext) throws(PluginLoadError) -> LoadedPlugin {
        let size = table.pointee.struct_size
        guard size >= stablePrefixSize else {
            throw PluginLoadError(.malformedTable, "Cannot load plugin \(path): its table is \(size) bytes, too small to hold even its name and version (ABI \(hostABI) needs \(v1TableSize)).")
        }
        // Field by field, never `table.pointee` whole: a copy would read sizeof(sbx_plugin) bytes,
        // past the end of a table that an older minor (or a malformed plugin) made smaller.
        let abiMajor = field(table, size, \.abi_major) ?? 0
        let abiMinor = field(table, size, \.abi_minor) ?? 0
        let name = (field(table, size, \.name) ?? nil).map { String(cString: $0) }
        let version = (field(table, size, \.version) ?? nil).map { String(cString: $0) }
        let pluginABI = "\(abiMajor).\(abiMinor)"
        let who = "plugin \(name ?? "(no name)") \(version ?? "(no version)"), ABI \(pluginABI)"
        guard abiMajor == UInt32(SANDBOXER_ABI_MAJOR) else {
            throw PluginLoadError(.abiMismatch, "Cannot load plugin \(path) (\(who)): this host speaks plugin ABI \(hostABI).")
        }
        guard size >= v1TableSize else {
            throw PluginLoadError(.malformedTable, "Cannot load plugin \(path) (\(who)): its table is \(size) bytes, smaller than the \(v1TableSize) bytes of ABI 1.0.")
        }
        guard let name, !name.isEmpty, let version else {
            throw PluginLoadError(.malformedTable, "Cannot load plugin \(path) (\(who)): its table has no name or no version.")
        }
        guard let create = field(table, size, \.instance_create) ?? nil, let invoke = field(table, size, \.invoke) ?? nil,
              let free = field(table, size, \.result_free) ?? nil, let destroy = field(table, size, \.instance_destroy) ?? nil else {
            throw PluginLoadError(.malformedTable, "Cannot load plugin \(path) (\(who)): its table lacks a required function (instance_create, invoke, result_free, instance_destroy).")
        }
        return LoadedPlugin(path: path, name: name, version: version, abiMajor: abiMajor, abiMinor: abiMinor,
                            table: table, functions: .init(instanceCreate: create, invoke: invoke, resultFree: free,
                                                           instanceDestroy: destroy),
                            context: context)
    }

    /// One field of a plugin table, or nil when the table's `struct_size` does not cover it (a field
    /// of a later minor than the plugin's). Every read of a plugin table goes through here.
    static func field<T>(_ table: UnsafePointer<sbx_plugin>, _ structSize: Int, _ key: KeyPath<sbx_plugin, T>) -> T? {
        guard let offset = MemoryLayout<sbx_plugin>.offset(of: key),
              structSize >= offset + MemoryLayout<T>.size else { return nil }
        return UnsafeRawPointer(table).load(fromByteOffset: offset, as: T.self)
    }

    /// dlerror() as one line.
    static func lastDlerror() -> String {
        guard let e = dlerror() else { return "unknown error" }
        return String(cString: e).split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    static func octal(_ mode: mode_t) -> String {
        "0" + String(mode & 0o7777, radix: 8)
    }
}
