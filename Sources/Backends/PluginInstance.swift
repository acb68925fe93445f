import Dispatch
import FoundationEssentials
import Glibc
import Core
import Config
import PluginProtocol
import Basics
import PluginABI
import Synchronization

/// One instance made by a plugin's `instance_create`: owns the pointer and runs calls with deadlines.
///
/// A call that outlives its deadline is abandoned, not killed: its thread keeps a reference to this
/// object, so the instance is destroyed only once no call is inside it any more.
final class PluginInstance: PluginChannel, @unchecked Sendable {
    // @unchecked: `pointer` is only handed to the plugin, whose invoke the ABI requires to be
    // thread-safe; everything else is immutable.
    let loaded: LoadedPlugin
    let pointer: UnsafeMutableRawPointer
    /// The backend's name in the host config, for error messages.
    let backend: String
    /// Success responses above this many bytes are refused without being copied.
    let maxResponseBytes: Int

    init(plugin: LoadedPlugin, pointer: UnsafeMutableRawPointer, backend: String,
         maxResponseBytes: Int = PluginLimits.defaultResponseBytes) {
        self.loaded = plugin
        self.pointer = pointer
        self.backend = backend
        self.maxResponseBytes = maxResponseBytes
    }

    var plugin: PluginIdentity { loaded.info }

    deinit {
        loaded.functions.instanceDestroy(pointer)
    }

    /// Hands the result of a call from the plugin's thread to the waiting caller.
    final class Mailbox: Sendable {
        struct State {
            var outcome: PluginReply?
            var abandoned = false
        }
        let state = Mutex(State())
        let done = DispatchSemaphore(value: 0)
    }

    /// Runs `operation` (with a `timeout`, on its own thread, giving up and cancelling after it) and
    /// returns what the plugin answered, uninterpreted; throws only `.timeout`.
    func reply(_ operation: String, _ request: Data, timeout: Double?) throws(BackendError) -> PluginReply {
        let context = loaded.context
        let callId = context.nextCallId()
        let outcome: PluginReply
        if let timeout {
            let mailbox = Mailbox()
            // On a call thread (8 MiB of stack; parked between calls, see PluginCallThreads).
            PluginCallThreads.shared.run({ [self] in
                let result = self.invokeNow(operation, request, callId: callId)
                let abandoned = mailbox.state.withLock { state in
                    state.outcome = result
                    return state.abandoned
                }
                if abandoned {
                    context.forget(callId)
                    DetachedPluginWork.shared.ended()
                }
            }, thenSignal: mailbox.done)
            _ = mailbox.done.wait(timeout: .now() + .nanoseconds(Int(max(0, min(timeout, 1e6)) * 1e9)))
            // Whatever arrived first, decide under the lock so a late result is not lost or misread.
            let late: PluginReply? = mailbox.state.withLock { state in
                if state.outcome == nil {
                    state.abandoned = true
                    context.cancel(callId)
                    DetachedPluginWork.shared.began()   // under the mailbox lock: before the thread can see `abandoned`
                }
                return state.outcome
            }
            guard let late else {
                throw BackendError(.timeout, "The call did not finish within \(Self.seconds(timeout)) s; the host cancelled it and stopped waiting.",
                                   backend: backend, operation: operation)
            }
            outcome = late
        } else {
            outcome = invokeNow(operation, request, callId: callId)
        }
        return outcome
    }

    /// Calls the plugin's invoke on this thread and copies the result out before freeing it.
    func invokeNow(_ operation: String, _ request: Data, callId: UInt64) -> PluginReply {
        var result = sbx_result(struct_size: MemoryLayout<sbx_result>.size, data: nil, len: 0, plugin_reserved: nil)
        let code = operation.withCString { op in
            request.withUnsafeBytes { raw in
                loaded.functions.invoke(pointer, op, raw.bindMemory(to: UInt8.self).baseAddress, raw.count, callId, &result)
            }
        }
        let reply = PluginReply.copy(code: code, from: result, maxResponseBytes: maxResponseBytes)
        loaded.functions.resultFree(&result)
        return reply
    }

    static func seconds(_ t: Double) -> String {
        String(cFormat: "%g", t)
    }
}
