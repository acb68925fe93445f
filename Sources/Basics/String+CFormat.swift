import Glibc

extension String {
    /// printf-style formatting of numbers through the C library (what `String(format:)` did):
    /// `%g`, `%.1f`, `%016llx` and the like give the same bytes. Takes no `%@`; pass strings as
    /// interpolation instead (a String is no C vararg without Foundation).
    public init(cFormat format: String, _ arguments: CVarArg...) {
        self = withVaList(arguments) { list in
            var buffer = [CChar](repeating: 0, count: 128)
            let needed = Int(vsnprintf(&buffer, buffer.count, format, list))
            if needed < 0 { return "" }
            if needed < buffer.count { return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } }
            buffer = [CChar](repeating: 0, count: needed + 1)
            return withVaList(arguments) { again in
                _ = vsnprintf(&buffer, buffer.count, format, again)
                return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            }
        }
    }
}
