import NIOCore
import NIOHTTP1

/// The one result of an upgrade attempt. Several parties may try to settle it (the upgrader, the
/// refusal collector, a timeout, a dropped connection); only the first one counts, so a promise is
/// never completed twice. Used only on the channel's event loop.
final class UpgradeHandshake: @unchecked Sendable {  // @unchecked: `settled` is used on the channel's loop only
    private let promise: EventLoopPromise<String?>
    private var settled = false

    init(eventLoop: EventLoop) {
        promise = eventLoop.makePromise(of: String?.self)
    }

    var futureResult: EventLoopFuture<String?> { promise.futureResult }

    /// - Parameter subprotocol: the `Sec-WebSocket-Protocol` the server chose, if any.
    func succeed(subprotocol: String?) {
        guard !settled else { return }
        settled = true
        promise.succeed(subprotocol)
    }

    func fail(_ error: Error) {
        guard !settled else { return }
        settled = true
        promise.fail(error)
    }
}

/// Sits behind `NIOHTTPClientUpgradeHandler`. When the server refuses the upgrade, the upgrade
/// handler passes the plain HTTP response on to us: we collect head and body and report them as
/// `WebSocketUpgradeRefused`. On a successful upgrade this handler is removed with the HTTP codec.
final class UpgradeRefusalCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let handshake: UpgradeHandshake
    private var head: HTTPResponseHead?
    private var body: ByteBuffer?
    /// Refusal bodies are error documents; more than this is not worth keeping in memory.
    private let bodyLimit = 1 << 20

    init(handshake: UpgradeHandshake) {
        self.handshake = handshake
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let responseHead):
            head = responseHead
        case .body(var chunk):
            if (body?.readableBytes ?? 0) + chunk.readableBytes <= bodyLimit {
                if body == nil { body = chunk } else { body!.writeBuffer(&chunk) }
            }
        case .end:
            reportRefusal()
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A 101 whose Sec-WebSocket-Accept is wrong arrives here as `upgraderDeniedUpgrade`.
        handshake.fail(WebSocketClientError.handshakeFailed("\(error)"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if head != nil {
            // A refusal without Content-Length ends when the server closes the connection.
            reportRefusal()
        } else {
            handshake.fail(WebSocketClientError.handshakeFailed("the server closed the connection before answering"))
        }
        context.fireChannelInactive()
    }

    private func reportRefusal() {
        guard let head else { return }
        let text = body.map { String(buffer: $0) } ?? ""
        handshake.fail(WebSocketUpgradeRefused(status: Int(head.status.code),
                                               headers: head.headers.map { ($0.name, $0.value) },
                                               body: text))
    }
}
