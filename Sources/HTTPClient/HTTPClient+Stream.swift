import FoundationEssentials
import Glibc

extension HTTPClient {
    /// Performs `request` and hands the response body to `onBody` as it arrives, with the
    /// response's status, instead of collecting it (the returned response's body is empty).
    ///
    /// `onBody` returns false to stop reading; `shouldAbort` is polled about once a second and more
    /// often while data flows, and true stops the transfer. Either way the call throws `.aborted`.
    /// Non-2xx bodies are streamed too: the caller bounds what it keeps.
    public func stream(_ request: HTTPClientRequest, shouldAbort: () -> Bool = { false },
                       onBody: (_ status: Int, _ chunk: UnsafeRawBufferPointer) -> Bool) throws(HTTPClientError) -> HTTPClientResponse {
        let outcome: Result<HTTPClientResponse, HTTPClientError> = withoutActuallyEscaping(shouldAbort) { abort in
            withoutActuallyEscaping(onBody) { sink in
                let collector = ResponseCollector(limit: 0, sink: sink, shouldAbort: abort)
                do throws(HTTPClientError) {
                    return .success(try perform(request, collector: collector))
                } catch {
                    return .failure(error)
                }
            }
        }
        return try outcome.get()
    }

    /// Like `send`, but polls `shouldAbort` while waiting (about once a second, more often while
    /// data flows); true stops the transfer and the call throws `.aborted`.
    public func send(_ request: HTTPClientRequest, shouldAbort: () -> Bool) throws(HTTPClientError) -> HTTPClientResponse {
        let outcome: Result<HTTPClientResponse, HTTPClientError> = withoutActuallyEscaping(shouldAbort) { abort in
            let collector = ResponseCollector(limit: request.maxResponseBytes, shouldAbort: abort)
            do throws(HTTPClientError) {
                return .success(try perform(request, collector: collector))
            } catch {
                return .failure(error)
            }
        }
        return try outcome.get()
    }
}
