import Foundation
import PluginKit

/// The state of one `process.Process/Start` stream while libcurl delivers it: envelopes decoded,
/// events applied, output kept within a bound. Used only on the thread running the transfer.
final class ExecStream {
    /// Output kept per stream (stdout, stderr); beyond it bytes are dropped and counted.
    let maxOutput: Int
    private var decoder = ConnectFrameDecoder()
    private(set) var status = 0
    private(set) var pid: UInt32?
    private(set) var stdout = Data()
    private(set) var stderr = Data()
    private(set) var droppedBytes = 0
    /// The `end` event: the exit code as a shell reports it, and envd's status text.
    private(set) var exit: (code: Int32, status: String)?
    /// The end-of-stream envelope's error (`code`, `message`), when it carried one.
    private(set) var streamError: (code: String, message: String)?
    private(set) var sawEndOfStream = false
    /// The body of a non-200 answer (bounded).
    private(set) var errorBody: [UInt8] = []
    /// Why reading stopped early (protocol violation, or stdin could not be fed).
    private(set) var failure: PluginError?
    let context: E2BContext
    /// Runs once the process has a pid (feeds stdin); an error stops the stream.
    let onStart: (UInt32) throws(PluginError) -> Void

    init(context: E2BContext, maxOutput: Int = 16 << 20, onStart: @escaping (UInt32) throws(PluginError) -> Void) {
        self.context = context
        self.maxOutput = maxOutput
        self.onStart = onStart
    }

    /// libcurl's body callback: false stops the transfer.
    func feed(status: Int, chunk: UnsafeRawBufferPointer) -> Bool {
        self.status = status
        guard status == 200 else {
            errorBody.append(contentsOf: chunk.prefix(max(0, 64 * 1024 - errorBody.count)))
            return true
        }
        do {
            for frame in try decoder.feed(chunk) {
                guard !sawEndOfStream else { return stop("envd sent data after the end of the stream") }
                if frame.isEndOfStream { try endOfStream(frame.payload) } else { try apply(frame.payload) }
            }
            return true
        } catch let error as ConnectFrameDecoder.Failure {
            switch error {
            case .tooLarge(let n): return stop("envd sent a \(n)-byte message, above the limit")
            case .compressed: return stop("envd sent a compressed message, which was not offered")
            }
        } catch let error as PluginError {
            failure = error
            return false
        } catch {
            return stop("the process stream could not be read")
        }
    }

    private func stop(_ reason: String) -> Bool {
        failure = context.fail(.internal, reason)
        return false
    }

    private func object(_ payload: [UInt8]) throws(PluginError) -> [String: Any] {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(payload))) as? [String: Any] else {
            throw context.fail(.internal, "envd sent a process-stream message that is not a JSON object")
        }
        return object
    }

    /// One `StartResponse{event}`.
    private func apply(_ payload: [UInt8]) throws(PluginError) {
        guard let event = try object(payload)["event"] as? [String: Any] else {
            throw context.fail(.internal, "envd sent a process-stream message without an event")
        }
        if let start = event["start"] as? [String: Any] {
            guard let number = start["pid"] as? NSNumber, number.int64Value > 0, number.int64Value <= Int64(UInt32.max) else {
                throw context.fail(.internal, "envd's start event carries no valid pid")
            }
            pid = UInt32(number.int64Value)
            try onStart(UInt32(number.int64Value))
        } else if let data = event["data"] as? [String: Any] {
            if let text = data["stdout"] as? String { try append(text, to: &stdout) }
            if let text = data["stderr"] as? String { try append(text, to: &stderr) }
        } else if let end = event["end"] as? [String: Any] {
            exit = (Self.exitCode(end), (end["status"] as? String) ?? "")
        }
        // keepalive (and events a newer envd may add) carry nothing for us.
    }

    private func append(_ base64: String, to output: inout Data) throws(PluginError) {
        guard let bytes = Data(base64Encoded: base64) else {
            throw context.fail(.internal, "envd sent output that is not valid base64")
        }
        let room = max(0, maxOutput - output.count)
        output.append(bytes.prefix(room))
        droppedBytes += max(0, bytes.count - room)
    }

    /// The end-of-stream envelope: `{}` or `{"error": {"code", "message"}}`.
    private func endOfStream(_ payload: [UInt8]) throws(PluginError) {
        sawEndOfStream = true
        let object = try object(payload)
        if let error = object["error"] as? [String: Any] {
            streamError = ((error["code"] as? String) ?? "unknown", (error["message"] as? String) ?? "")
        }
    }

    /// A shell-style exit code from envd's `end` event: the process's own code, or 128 + the
    /// signal that killed it (envd reports `exitCode: -1` with `status: "signal: killed"`).
    static func exitCode(_ end: [String: Any]) -> Int32 {
        let code = (end["exitCode"] as? NSNumber)?.int32Value ?? 0
        guard code < 0, let status = end["status"] as? String, status.hasPrefix("signal: ") else { return code }
        let signals: [String: Int32] = ["hangup": 1, "interrupt": 2, "quit": 3, "aborted": 6, "killed": 9, "user defined signal 1": 10,
                                        "segmentation fault": 11, "user defined signal 2": 12, "broken pipe": 13, "terminated": 15]
        return signals[String(status.dropFirst("signal: ".count))].map { 128 + $0 } ?? code
    }
}
