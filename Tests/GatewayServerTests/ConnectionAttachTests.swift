import GatewayCore
import GatewayJSON
import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import GatewayServer

/// A WebSocket connection is registered with the fan-out before NIO writes the 101 and adds its
/// handlers. Events (and a close) that reach it in between must wait and leave once it is in
/// the pipeline, not be lost: a client that publishes the moment it sees the 101 gets the event.
/// (With real sockets this is a race a test cannot hit on demand; EmbeddedChannel makes the
/// "registered, not yet attached" moment explicit.)
@Suite struct ConnectionAttachTests {
    private func connection() -> ClientConnection {
        ClientConnection(recipient: Recipient(id: "erin", principals: ["erin"], host: "h"), replaying: false,
                         settings: .init(maxOutboundBytes: 1 << 20, pingInterval: nil, pongTimeout: .seconds(5)),
                         metrics: GatewayMetrics.shared, logger: Logger(label: "test"))
    }

    private func event(id: Int64, message: String) throws -> RoutedEvent {
        let json = try JSON.parse(#"{"id":\#(id),"category":"c","message":"\#(message)"}"#)
        let event = Event(id: id, host: "h", senderId: "app", category: "c", targets: ["erin"], json: json)
        return RoutedEvent(OutboundEvent(event, chain: .empty), allocator: ByteBufferAllocator())
    }

    /// A connected channel with NIO's frame encoder, as after an upgrade.
    private func upgradedChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(WebSocketFrameEncoder())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        return channel
    }

    /// Everything written to the socket so far, as one buffer (the encoder may write a frame's
    /// header and payload separately).
    private func written(_ channel: EmbeddedChannel) throws -> ByteBuffer {
        var all = ByteBuffer()
        while var bytes = try channel.readOutbound(as: ByteBuffer.self) { all.writeBuffer(&bytes) }
        return all
    }

    /// The text frames' payloads in `bytes`, in order; fails on any other frame.
    private func texts(in bytes: ByteBuffer) -> [String] {
        var bytes = bytes
        var texts: [String] = []
        while bytes.readableBytes > 0 {
            #expect(bytes.readInteger(as: UInt8.self) == 0x81, "a final text frame")
            let short = Int(bytes.readInteger(as: UInt8.self)!)
            let length = short == 126 ? Int(bytes.readInteger(as: UInt16.self)!) : short
            texts.append(bytes.readString(length: length)!)
        }
        return texts
    }

    @Test func eventsDeliveredBeforeTheHandlerIsAddedAreWrittenOnceItIs() throws {
        let channel = try upgradedChannel()
        defer { _ = try? channel.finish() }
        let connection = connection()

        // Registered but not in the pipeline yet (the 101 is being written).
        guard case .notWritten = connection.deliver(try event(id: 1, message: "first")) else {
            Issue.record("an event before attaching must wait")
            return
        }
        _ = connection.deliver(try event(id: 2, message: "second"))
        connection.flushIfNeeded()
        #expect(try written(channel).readableBytes == 0)

        try channel.pipeline.syncOperations.addHandler(connection)
        let early = texts(in: try written(channel))
        #expect(early.count == 2)
        #expect(early.first?.contains(#""message":"first""#) == true)
        #expect(early.last?.contains(#""message":"second""#) == true)

        // Attached: later events go straight out.
        guard case .firstWriteOfDrain = connection.deliver(try event(id: 3, message: "third")) else {
            Issue.record("an event after attaching is written")
            return
        }
        connection.flushIfNeeded()
        #expect(texts(in: try written(channel)).first?.contains(#""message":"third""#) == true)
    }

    @Test func aCloseAskedForBeforeTheHandlerIsAddedIsSentOnceItIs() throws {
        let channel = try upgradedChannel()
        defer { _ = try? channel.finish() }
        let connection = connection()

        connection.close(code: .goingAway, reason: "gateway shutting down", immediately: true)
        #expect(connection.closing)
        guard case .notWritten = connection.deliver(try event(id: 1, message: "late")) else {
            Issue.record("a closing connection takes no events")
            return
        }
        #expect(channel.isActive)

        try channel.pipeline.syncOperations.addHandler(connection)
        // Only the close frame (1001), not the event that came while closing.
        var frame = try written(channel)
        #expect(frame.readInteger(as: UInt8.self) == 0x88, "a final close frame")
        let length = Int(frame.readInteger(as: UInt8.self) ?? 0)
        #expect(frame.readInteger(as: UInt16.self) == 1001)
        #expect(frame.readableBytes == length - 2, "nothing after the close frame")
        #expect(!channel.isActive, "closed immediately")
    }
}
