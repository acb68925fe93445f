import Glibc
import PluginABI
import PluginKit

/// The TestPlugin's entry: PluginKit's one-line export, wrapped so `garbage_code` can answer a
/// code outside the ABI's closed list (PluginKit, rightly, cannot produce one), and `huge_error` a
/// message of any size without building it as a Swift string first.
@_cdecl("sandboxer_plugin_entry_v1")
public func sandboxerPluginEntryV1(_ host: UnsafePointer<sbx_host_api>?) -> UnsafePointer<sbx_plugin>? {
    TestPluginTable.wrap(PluginExport.entry(TestPlugin.self, host: host))
}

/// Wraps PluginKit's table: a call that fails with `outOfRangeMarker` returns code 42 instead.
enum TestPluginTable {
    /// The message TestPlugin throws to ask for the out-of-range code.
    static let outOfRangeMarker = "sandboxer-test-plugin: answer with out-of-range code 42"
    /// The message TestPlugin throws, followed by a byte count, to ask for a message that long.
    static let hugeMessageMarker = "sandboxer-test-plugin: answer with a message of bytes: "

    /// PluginKit's table followed by the pointer to it (a `sbx_plugin *` to this is also one to `base`).
    struct Wrapped {
        var base: sbx_plugin
        var inner: UnsafePointer<sbx_plugin>
    }

    /// What our instance pointer refers to: PluginKit's instance and table.
    struct Instance {
        var inner: UnsafeMutableRawPointer?
        var table: UnsafePointer<sbx_plugin>
    }

    static func wrap(_ inner: UnsafePointer<sbx_plugin>?) -> UnsafePointer<sbx_plugin>? {
        guard let inner else { return nil }
        var base = inner.pointee
        base.instance_create = instanceCreate
        base.invoke = invoke
        base.instance_destroy = instanceDestroy
        // Lives until exit, as the ABI requires of a table.
        let table = UnsafeMutablePointer<Wrapped>.allocate(capacity: 1)
        table.initialize(to: Wrapped(base: base, inner: inner))
        return UnsafeRawPointer(table).assumingMemoryBound(to: sbx_plugin.self)
    }

    static let instanceCreate: @convention(c) (UnsafePointer<sbx_plugin>?, UnsafePointer<UInt8>?, Int,
                                               UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                               UnsafeMutablePointer<sbx_result>?) -> Int32 = { table, config, len, outInstance, out in
        guard let table, let outInstance else { return PluginError.Code.invalidRequest.rawValue }
        let inner = UnsafeRawPointer(table).assumingMemoryBound(to: Wrapped.self).pointee.inner
        var innerInstance: UnsafeMutableRawPointer? = nil
        let code = inner.pointee.instance_create!(inner, config, len, &innerInstance, out)
        guard code == PluginError.successCode else { return code }
        let instance = UnsafeMutablePointer<Instance>.allocate(capacity: 1)
        instance.initialize(to: Instance(inner: innerInstance, table: inner))
        outInstance.pointee = UnsafeMutableRawPointer(instance)
        return PluginError.successCode
    }

    static let invoke: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafePointer<UInt8>?, Int,
                                       UInt64, UnsafeMutablePointer<sbx_result>?) -> Int32 = { raw, op, request, len, callId, out in
        guard let raw else { return PluginError.Code.invalidRequest.rawValue }
        let instance = raw.assumingMemoryBound(to: Instance.self).pointee
        let code = instance.table.pointee.invoke!(instance.inner, op, request, len, callId, out)
        if code == PluginError.Code.internal.rawValue, let out, let data = out.pointee.data {
            let message = String(decoding: UnsafeBufferPointer(start: data, count: out.pointee.len), as: UTF8.self)
            if message == outOfRangeMarker { return 42 }
            if message.hasPrefix(hugeMessageMarker), let bytes = Int(message.dropFirst(hugeMessageMarker.count)) {
                instance.table.pointee.result_free!(out)
                fillHuge(out, bytes: bytes)
            }
        }
        return code
    }

    /// Fills `out` with a message of `bytes` bytes: "huge: " then "€" (3 bytes each) to the end, so a
    /// cut at a round size lands inside a character. Allocated as PluginKit's `result_free` expects.
    static func fillHuge(_ out: UnsafeMutablePointer<sbx_result>, bytes: Int) {
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: max(bytes, 1))
        let head = Array("huge: ".utf8), euro: [UInt8] = [0xE2, 0x82, 0xAC]
        let seed = head + euro
        for i in 0..<min(bytes, seed.count) { buffer[i] = seed[i] }
        // Double the run of euros with memcpy: a byte loop over 100 MB is slow in a debug build.
        var run = euro.count
        while head.count + run < bytes {
            let n = min(run, bytes - head.count - run)
            memcpy(buffer + head.count + run, buffer + head.count, n)
            run += n
        }
        out.pointee.data = buffer
        out.pointee.len = bytes
    }

    static let instanceDestroy: @convention(c) (UnsafeMutableRawPointer?) -> Void = { raw in
        guard let raw else { return }
        let instance = raw.assumingMemoryBound(to: Instance.self)
        instance.pointee.table.pointee.instance_destroy!(instance.pointee.inner)
        instance.deinitialize(count: 1)
        instance.deallocate()
    }
}
