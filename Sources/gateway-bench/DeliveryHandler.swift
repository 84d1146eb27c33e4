import NIOCore
import NIOWebSocket

/// The last handler of an upgraded subscriber: counts deliveries and times them. It does as
/// little as possible per frame (one memmem, one clock read, one histogram record).
final class DeliveryHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let stats: DeliveryStats
    private let recorder: LatencyRecorder

    init(stats: DeliveryStats, recorder: LatencyRecorder) {
        self.stats = stats
        self.recorder = recorder
    }

    func handlerAdded(context: ChannelHandlerContext) {
        stats.liveConnections.add(1, ordering: .relaxed)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary:
            if let sentAt = BenchTimestampScanner.timestamp(in: frame.data) {
                recorder.record(sentAtNanos: sentAt, receivedAtNanos: realtimeNanos())
                stats.received.add(1, ordering: .relaxed)
            } else {
                stats.unmarkedFrames.add(1, ordering: .relaxed)
            }
        case .ping:
            // Servers that ping idle subscribers must not see the bench as dead.
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.data)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            stats.closeFramesFromServer.add(1, ordering: .relaxed)
            context.close(promise: nil)
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        stats.liveConnections.subtract(1, ordering: .relaxed)
        if !stats.stopping.load(ordering: .relaxed) {
            stats.droppedConnections.add(1, ordering: .relaxed)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
