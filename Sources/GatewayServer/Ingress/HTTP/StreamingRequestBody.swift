import NIOCore
import NIOHTTP1

/// A request whose body must not be held whole in memory (attachment uploads). The HTTP handler
/// hands each chunk over as it arrives; the receiver may pause reading (backpressure) while it
/// writes to disk off the event loop.
protocol StreamingRequestBody: AnyObject {
    /// Called on the event loop for each body chunk, in order.
    func receive(_ chunk: ByteBuffer)
    /// The body is complete: produce the response.
    func finish() -> EventLoopFuture<HTTPResponse>
    /// The connection ended (or the body broke a limit) before `finish`: leave nothing behind.
    func abort()
}

enum BodyHandling {
    /// Collect the body in memory up to the route's limit (small JSON documents).
    case buffered
    case streaming(StreamingRequestBody)
    /// Answer at once without reading the body (401, 413 from Content-Length, …).
    case reject(HTTPResponse)
}
