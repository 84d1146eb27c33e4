import GatewayCore
import NIOCore

/// An outbound event with its WebSocket frame, encoded once per event for every loop: the
/// frame header and payload are written unchanged to each recipient no filter changes.
final class RoutedEvent: Sendable {
    let outbound: OutboundEvent
    let frame: ByteBuffer

    init(_ outbound: OutboundEvent, allocator: ByteBufferAllocator) {
        self.outbound = outbound
        self.frame = WebSocketFrameBytes.text(outbound.payload, allocator: allocator)
    }

    var id: Int64 { outbound.event.id }
}
