import NIOCore
import NIOPosix

/// Answers the first bytes of every connection with a fixed raw HTTP response, then optionally
/// closes: for handshakes no well-behaved NIO server would produce.
final class RawResponseServer: Sendable {
    private let channel: Channel
    var port: Int { channel.localAddress!.port! }

    init(group: EventLoopGroup, response: String, closeAfter: Bool) async throws {
        channel = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(CannedResponder(response: response, closeAfter: closeAfter))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async {
        try? await channel.close()
    }
}

private final class CannedResponder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let response: String
    private let closeAfter: Bool
    private var answered = false

    init(response: String, closeAfter: Bool) {
        self.response = response
        self.closeAfter = closeAfter
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        answered = true
        let written = context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: response)))
        if closeAfter { written.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
    }
}
