import CSandboxerABI
import Foundation

// A backend written against the raw C ABI: no PluginKit, only the header. It keeps sandboxes in
// memory and answers describe, create, status and destroy.

/// The entry. `public` matters: a non-public @_cdecl function is dropped from release builds.
@_cdecl("sandboxer_plugin_entry_v1")
public func sandboxerPluginEntryV1(_ host: UnsafePointer<sbx_host_api>?) -> UnsafePointer<sbx_plugin>? {
    // The frozen v1.0 size, not MemoryLayout<sbx_host_api>.size: after re-copying a later minor's
    // header, that would refuse every older host.
    guard let host, host.pointee.struct_size >= Int(SBX_HOST_API_V1_0_SIZE),
          host.pointee.abi_major == UInt32(SANDBOXER_ABI_MAJOR) else { return nil }
    // The table must live until exit: allocate it and never free it. The host table follows it so
    // instance_create (which receives the table) can find the host without a global.
    // Zeroed, then field by field: the memberwise initialiser gains a parameter with every field a
    // minor appends, so it would stop compiling when the header is re-copied. Unset fields stay NULL.
    var base = sbx_plugin()
    base.struct_size = MemoryLayout<sbx_plugin>.size
    base.abi_major = UInt32(SANDBOXER_ABI_MAJOR)
    base.abi_minor = UInt32(SANDBOXER_ABI_MINOR)
    base.name = UnsafePointer(strdup("external"))
    base.version = UnsafePointer(strdup("0.1.0"))
    base.instance_create = instanceCreate
    base.invoke = invoke
    base.result_free = resultFree
    base.instance_destroy = instanceDestroy
    let table = UnsafeMutablePointer<Table>.allocate(capacity: 1)
    table.initialize(to: Table(base: base, host: host))
    return UnsafeRawPointer(table).assumingMemoryBound(to: sbx_plugin.self)
}

struct Table {
    var base: sbx_plugin
    var host: UnsafePointer<sbx_host_api>
}

/// One instance: sandboxes by backend_ref. invoke may run on many threads, hence the lock.
final class Instance: @unchecked Sendable {
    // @unchecked: `sandboxes` is only touched under `lock`; `host` is immutable and valid until exit.
    let lock = NSLock()
    var sandboxes: [String: Int64] = [:]
    let host: UnsafePointer<sbx_host_api>
    init(host: UnsafePointer<sbx_host_api>) { self.host = host }

    func nowMs() -> Int64 { host.pointee.now_unix_ms?(host.pointee.host_ctx) ?? 0 }

    func handle(_ op: String, _ request: [String: Any]) -> (Int32, [String: Any]) {
        switch op {
        case "describe":
            return (0, ["name": "external", "version": "0.1.0", "capabilities": ["sandboxer.lifecycle/1"]])
        case "create":
            guard let id = request["sandbox_id"] as? String else { return (3, ["error": "The create request needs 'sandbox_id'."]) }
            let ref = "ext-" + id
            let now = nowMs()
            let fresh = lock.withLock { () -> Bool in
                guard sandboxes[ref] == nil else { return false }
                sandboxes[ref] = now
                return true
            }
            return fresh ? (0, ["backend_ref": ref, "info": ["created_at_ms": now]]) : (4, ["error": "The sandbox exists already."])
        case "status", "destroy":
            guard let ref = request["backend_ref"] as? String else { return (3, ["error": "The request needs 'backend_ref'."]) }
            let created = lock.withLock { op == "destroy" ? sandboxes.removeValue(forKey: ref) : sandboxes[ref] }
            guard let created else { return (2, ["error": "No such sandbox."]) }
            return op == "destroy" ? (0, [:]) : (0, ["state": "running", "info": ["created_at_ms": created]])
        default:
            return (1, ["error": "The operation '\(op)' is not implemented by this plugin."])
        }
    }
}

/// Copies bytes into malloc'd memory for the host; `resultFree` releases them.
func fill(_ out: UnsafeMutablePointer<sbx_result>?, _ bytes: [UInt8]) {
    guard let out, let buffer = malloc(max(bytes.count, 1))?.assumingMemoryBound(to: UInt8.self) else { return }
    bytes.withUnsafeBufferPointer { if let base = $0.baseAddress { buffer.update(from: base, count: bytes.count) } }
    out.pointee.data = buffer
    out.pointee.len = bytes.count
}

let instanceCreate: @convention(c) (UnsafePointer<sbx_plugin>?, UnsafePointer<UInt8>?, Int,
                                    UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                    UnsafeMutablePointer<sbx_result>?) -> Int32 = { plugin, _, _, outInstance, _ in
    guard let plugin, let outInstance else { return 3 }
    let host = UnsafeRawPointer(plugin).assumingMemoryBound(to: Table.self).pointee.host
    outInstance.pointee = Unmanaged.passRetained(Instance(host: host)).toOpaque()
    return 0
}

let invoke: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafePointer<UInt8>?, Int,
                            UInt64, UnsafeMutablePointer<sbx_result>?) -> Int32 = { raw, op, request, len, _, out in
    guard let raw, let op else { return 3 }
    let instance = Unmanaged<Instance>.fromOpaque(raw).takeUnretainedValue()
    let body = request.map { Data(bytes: $0, count: len) } ?? Data()
    let parsed = body.isEmpty ? [:] : ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:])
    let (code, answer) = instance.handle(String(cString: op), parsed)
    if code == 0 {
        fill(out, Array((try? JSONSerialization.data(withJSONObject: answer)) ?? Data("{}".utf8)))
    } else {
        fill(out, Array(((answer["error"] as? String) ?? "Failed.").utf8))
    }
    return code
}

let resultFree: @convention(c) (UnsafeMutablePointer<sbx_result>?) -> Void = { result in
    guard let result else { return }
    free(result.pointee.data)
    result.pointee.data = nil
    result.pointee.len = 0
}

let instanceDestroy: @convention(c) (UnsafeMutableRawPointer?) -> Void = { raw in
    guard let raw else { return }
    Unmanaged<Instance>.fromOpaque(raw).release()
}
