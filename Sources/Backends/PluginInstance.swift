import Dispatch
import Foundation
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
final class PluginInstance: @unchecked Sendable {
    // @unchecked: `pointer` is only handed to the plugin, whose invoke the ABI requires to be
    // thread-safe; everything else is immutable.
    let plugin: LoadedPlugin
    let pointer: UnsafeMutableRawPointer
    /// The backend's name in the host config, for error messages.
    let backend: String

    init(plugin: LoadedPlugin, pointer: UnsafeMutableRawPointer, backend: String) {
        self.plugin = plugin
        self.pointer = pointer
        self.backend = backend
    }

    deinit {
        plugin.functions.instanceDestroy(pointer)
    }

    /// What one plugin call gave back, copied out of the plugin's buffer.
    struct Outcome: Sendable {
        let code: Int32
        let bytes: Data
        /// Set when the plugin broke the buffer contract (NULL data with a length).
        let broken: Bool
    }

    /// Hands the result of a call from the plugin's thread to the waiting caller.
    final class Mailbox: Sendable {
        struct State {
            var outcome: Outcome?
            var abandoned = false
        }
        let state = Mutex(State())
        let done = DispatchSemaphore(value: 0)
    }

    /// Runs `operation`; with a `timeout`, on its own thread, giving up (and cancelling) after it.
    func call(_ operation: String, _ request: Data, timeout: Double?) throws(BackendError) -> Data {
        let context = plugin.context
        let callId = context.nextCallId()
        let outcome: Outcome
        if let timeout {
            let mailbox = Mailbox()
            let thread = Thread { [self] in
                let result = self.invokeNow(operation, request, callId: callId)
                let abandoned = mailbox.state.withLock { state in
                    state.outcome = result
                    return state.abandoned
                }
                if abandoned { context.forget(callId) }
                mailbox.done.signal()
            }
            // Plugins may recurse deeply (JSON, Swift runtime): give them the usual 8 MiB.
            thread.stackSize = 8 << 20
            thread.start()
            _ = mailbox.done.wait(timeout: .now() + .nanoseconds(Int(max(0, min(timeout, 1e6)) * 1e9)))
            // Whatever arrived first, decide under the lock so a late result is not lost or misread.
            let late: Outcome? = mailbox.state.withLock { state in
                if state.outcome == nil {
                    state.abandoned = true
                    context.cancel(callId)
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
        return try interpret(outcome, operation: operation)
    }

    /// Calls the plugin's invoke on this thread and copies the result out before freeing it.
    func invokeNow(_ operation: String, _ request: Data, callId: UInt64) -> Outcome {
        var result = sbx_result(struct_size: MemoryLayout<sbx_result>.size, data: nil, len: 0, plugin_reserved: nil)
        let code = operation.withCString { op in
            request.withUnsafeBytes { raw in
                plugin.functions.invoke(pointer, op, raw.bindMemory(to: UInt8.self).baseAddress, raw.count, callId, &result)
            }
        }
        let broken = result.data == nil && result.len != 0
        let bytes = result.data.map { Data(bytes: $0, count: result.len) } ?? Data()
        plugin.functions.resultFree(&result)
        return Outcome(code: code, bytes: bytes, broken: broken)
    }

    /// Turns a code and bytes into a response or a BackendError.
    func interpret(_ outcome: Outcome, operation: String) throws(BackendError) -> Data {
        if outcome.broken {
            throw BackendError(.garbage, "The plugin returned a result with no data but a length of bytes.", backend: backend, operation: operation)
        }
        if outcome.code == PluginError.successCode {
            let parsed = try? JSONSerialization.jsonObject(with: outcome.bytes, options: [])
            guard parsed is [String: Any] else {
                throw BackendError(.garbage, "The plugin's response is not a JSON object (\(outcome.bytes.count) bytes).", backend: backend, operation: operation)
            }
            return outcome.bytes
        }
        guard let code = BackendError.Code(abiCode: outcome.code) else {
            throw BackendError(.garbage, "The plugin returned code \(outcome.code), which is not in the ABI's closed list (\(PluginError.successCode)–\(PluginError.Code.allCases.map(\.rawValue).max() ?? 0)).", backend: backend, operation: operation)
        }
        let message = Backend.oneLine(outcome.bytes)
        throw BackendError(code, message.isEmpty ? "The plugin gave no reason." : message, backend: backend, operation: operation)
    }

    static func seconds(_ t: Double) -> String {
        String(format: "%g", t)
    }
}
