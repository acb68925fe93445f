import Foundation
import Core
import Config
import PluginProtocol
import Basics

// The typed call of a builder (`sandboxer.build/1`).
extension Backend {
    /// `build`: runs a template into artifacts under the request's `output_dir`. The deadline is the
    /// builder's `timeouts:` entry for `build` (or its default), else `timeout`; when it passes the
    /// call is cancelled (`is_cancelled` answers 1) and the builder must stop everything it started.
    public func build(_ r: BuildRequest, timeout: Double?) throws(BackendError) -> BuildResponse {
        try call(Operation.build, r, as: BuildResponse.self, timeout: timeout)
    }
}
