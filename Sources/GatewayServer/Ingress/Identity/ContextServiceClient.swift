import CHTTPFetch
import GatewayCore

/// One blocking GET of `[auth] context_url` with the user's token (libcurl, see http_fetch.h).
/// Runs on the context thread pool only.
///
/// Why libcurl and not async-http-client: libcurl is already a dependency of the build (the
/// messenger plugins), brings TLS with the system's CA store, proxies and a total time limit, and
/// costs nothing more to build; async-http-client would add swift-nio-ssl, nio-http2 and more to
/// every clean build for one GET per new token. A blocking call on a dedicated pool of a few
/// threads is enough at that rate, and keeps the event loops and the SQLite pool out of it.
struct ContextServiceClient: Sendable {
    let url: String

    func fetch(token: String, timeoutMilliseconds: Int) -> Result<SiteContext, GatewayError> {
        var answer = hf_answer()
        hf_get(url, token, timeoutMilliseconds, SiteContext.maxAnswerBytes, &answer)
        defer { hf_answer_free(&answer) }
        let why = withUnsafeBytes(of: answer.error) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        switch answer.outcome {
        case HF_OK:
            let body = answer.body.map { Array(UnsafeBufferPointer(start: UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self),
                                                                  count: answer.body_length)) } ?? []
            return SiteContext.parse(status: answer.status, body: body)
        case HF_TIMEOUT: return .failure(ContextFailure.timeout(Double(timeoutMilliseconds) / 1000))
        case HF_TOO_LARGE: return .failure(ContextFailure.badAnswer("the answer is larger than \(SiteContext.maxAnswerBytes) bytes"))
        default: return .failure(ContextFailure.unavailable(why))
        }
    }
}
