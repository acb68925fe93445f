import FoundationEssentials
import Glibc

extension Error {
    /// A short reason for a message (what `localizedDescription` gave with Foundation): a file
    /// error's system text and path ("No such file or directory: /data/x"), else the error's text.
    public var reasonText: String {
        if let cocoa = self as? CocoaError {
            let path = cocoa.filePath.map { ": \($0)" } ?? ""
            if let posix = cocoa.underlying as? POSIXError {
                return String(cString: strerror(posix.code.rawValue)) + path
            }
            return "file error \(cocoa.code.rawValue)" + path
        }
        if let posix = self as? POSIXError { return String(cString: strerror(posix.code.rawValue)) }
        return String(describing: self)
    }
}
