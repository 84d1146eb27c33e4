import NIOCore

/// On a TLS port every connection starts with a TLS handshake record (first byte 0x16). A client
/// that speaks plain HTTP instead gets a 400 in clear, `tls.required`, as nginx answers, rather
/// than a TLS alert it cannot read; then the connection closes. A TLS connection passes through
/// and this handler leaves the pipeline.
final class PlainHTTPOnTLSPort: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private static let handshakeRecord: UInt8 = 0x16
    private var refused = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        let bytes = unwrapInboundIn(data)
        guard let first = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) else { return }
        if first == Self.handshakeRecord {
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        refused = true
        let body = #"{"error":{"code":"tls.required","message":"This port speaks HTTPS and wss only: use https:// or wss://."}}"#
        let answer = "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
            + "Connection: close\r\n\r\n" + body
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: answer))).assumeIsolated()
            .whenComplete { _ in context.close(promise: nil) }
    }
}
