import NIOCore
import NIOWebSocket

/// RFC 6455 rules NIO's frame decoder leaves to the application, checked on every raw frame
/// before fragments are put together: no extension is negotiated, so any RSV bit is an error
/// (§5.2), and every client frame must be masked (§5.1). Both close with 1002 (protocol error).
final class WebSocketFrameRules: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

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

    /// Close 1002 at once: a peer that breaks framing gets no close handshake wait.
    private func fail(context: ChannelHandlerContext, reason: String) {
        failed = true
        var buffer = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        buffer.write(webSocketErrorCode: .protocolError)
        buffer.writeString(reason)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: buffer)))
            .whenComplete { _ in channel.close(promise: nil) }
    }
}
