import FoundationEssentials
import Glibc
import PluginABI

/// What one plugin call gave back, copied out of the plugin's buffer within the host's caps.
///
/// The host never copies more than it keeps: an error message is read up to `PluginLimits.messageBytes`
/// (plus one byte to find a UTF-8 boundary), and a response above the backend's response cap is not
/// copied at all. `length` is always what the plugin claimed.
package struct PluginReply: Sendable {
    /// The code the plugin returned (0 is success; 1–7 the ABI's errors; anything else a contract breach).
    package let code: Int32
    /// The bytes kept: the whole response on success, a bounded prefix of an error message otherwise.
    package let bytes: Data
    /// How many bytes the plugin said it returned (`sbx_result.len`).
    package let length: Int
    /// The plugin broke the buffer contract: NULL data with a non-zero length.
    package let brokenBuffer: Bool

    /// Whether a success response was left uncopied because it is larger than the cap.
    package var oversized: Bool { code == 0 && !brokenBuffer && bytes.count < length }

    /// Copies what the host keeps from `result`; call before the plugin's `result_free`.
    static func copy(code: Int32, from result: sbx_result, maxResponseBytes: Int) -> PluginReply {
        let length = result.len
        guard let data = result.data else {
            return PluginReply(code: code, bytes: Data(), length: length, brokenBuffer: length != 0)
        }
        let keep: Int
        if code == 0 {
            keep = length <= maxResponseBytes ? length : 0
        } else {
            keep = min(length, PluginLimits.messageBytes + 1)
        }
        return PluginReply(code: code, bytes: Data(bytes: data, count: keep), length: length, brokenBuffer: false)
    }

    /// The error message as one printable line, cut to `PluginLimits.messageBytes` on a UTF-8
    /// boundary with a "… (N bytes cut)" marker when the plugin sent more.
    package var message: String {
        PluginLimits.oneLine(bytes, total: length)
    }
}
