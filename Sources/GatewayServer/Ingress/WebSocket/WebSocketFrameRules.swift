import NIOCore
import NIOWebSocket

/// RFC 6455 rules NIO's frame decoder leaves to the application, checked on every raw frame
/// before fragments are put together: no extension is negotiated, so any RSV bit is an error
/// (§5.2), and every client frame must be masked (§5.1). Both close with 1002 (protocol error).
///
/// The close itself is the connection's (ClientConnection owns whether a close frame was sent):
/// this handler only tells it, so a peer that breaks framing after the server's own close gets
/// no second close frame.
final class WebSocketFrameRules: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame

    private var failed = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let frame = unwrapInboundIn(data)
        if frame.rsv1 || frame.rsv2 || frame.rsv3 {
            fail(context: context, reason: "RSV bits set without a negotiated extension")
        } else if frame.maskKey == nil {
            fail(context: context, reason: "client frames must be masked")
        } else {
            context.fireChannelRead(data)
        }
    }

    /// Nothing more is read from this peer; the connection closes with 1002 at once (a peer that
    /// breaks framing gets no close handshake wait).
    private func fail(context: ChannelHandlerContext, reason: String) {
        failed = true
        context.fireUserInboundEventTriggered(WebSocketFramingViolation(reason: reason))
    }
}

/// Sent down the pipeline when a client breaks RFC 6455 framing; ClientConnection closes with 1002.
struct WebSocketFramingViolation {
    let reason: String
}
