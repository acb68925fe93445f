import Basics
import PluginProtocol
/// A process as the kernel knows it: pid plus start time, so a reused pid is not mistaken for it.
/// A plain value here; reading it from `/proc` is `ProcessIdentity+Proc.swift` in Lifecycle.
package struct ProcessIdentity: Equatable, Sendable {
    package var pid: Int32
    package var startTime: UInt64

    package init(pid: Int32, startTime: UInt64) {
        self.pid = pid
        self.startTime = startTime
    }
}
