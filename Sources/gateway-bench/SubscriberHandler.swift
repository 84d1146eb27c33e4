import NIOCore
import NIOHTTP1

/// One subscriber, as a single handler on raw bytes: it sends the upgrade request, checks for
/// 101, then parses server frames in place. NIO's HTTP codec + upgrader + frame decoder cost
/// several handler hops and a buffer slice per frame; at 100k+ deliveries/s on one core that
/// made the client heavier than the server it measures.
final class SubscriberHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        case handshaking
        case open
        case closed
    }

    /// Frames larger than this are a protocol error (bench events are a few hundred bytes).
    private static let maxFrameBytes = 16 << 20
    private static let maxHandshakeBytes = 16 << 10
    private static let headerEnd: [UInt8] = Array("\r\n\r\n".utf8)

    private let request: String
    private let uri: String
    private let outcome: UpgradeOutcome
    private let stats: DeliveryStats
    private let recorder: LatencyRecorder
    private var state = State.handshaking
    /// Bytes of an incomplete handshake answer or frame, kept until the rest arrives.
    private var pending: ByteBuffer?

    init(uri: String, headers: HTTPHeaders, outcome: UpgradeOutcome, stats: DeliveryStats, recorder: LatencyRecorder) {
        var randomKey = [UInt8](repeating: 0, count: 16)
        for index in randomKey.indices { randomKey[index] = UInt8.random(in: 0...255) }
        var request = "GET \(uri) HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        request += "Sec-WebSocket-Key: \(Base64.encode(randomKey))\r\nSec-WebSocket-Version: 13\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        self.request = request
        self.uri = uri
        self.outcome = outcome
        self.stats = stats
        self.recorder = recorder
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: request)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if var buffered = pending {
            pending = nil
            buffered.writeBuffer(&incoming)
            incoming = buffered
        }
        if case .handshaking = state {
            guard readHandshake(context: context, buffer: &incoming) else { return }
        }
        if case .open = state {
            readFrames(context: context, buffer: &incoming)
        }
        if incoming.readableBytes > 0, case .open = state {
            pending = incoming
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .open = state {
            stats.liveConnections.subtract(1, ordering: .relaxed)
            if !stats.stopping.load(ordering: .relaxed) {
                stats.droppedConnections.add(1, ordering: .relaxed)
            }
        }
        state = .closed
        outcome.fail(BenchError.closedBeforeUpgrade())
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        outcome.fail(error)
        context.close(promise: nil)
    }

    /// True once the 101 answer is consumed (frames may follow in the same buffer).
    private func readHandshake(context: ChannelHandlerContext, buffer: inout ByteBuffer) -> Bool {
        let endOfHeaders = buffer.withUnsafeReadableBytes { bytes -> Int? in
            guard bytes.count >= 4 else { return nil }
            for index in 0...(bytes.count - 4) where bytes[index] == 13 && bytes[index + 1] == 10
                && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
                return index + 4
            }
            return nil
        }
        guard let endOfHeaders else {
            if buffer.readableBytes > Self.maxHandshakeBytes {
                fail(context: context, BenchError.upgradeRejected(status: 0, uri: uri))
            } else {
                pending = buffer
                buffer.clear()
            }
            return false
        }
        let statusLine = buffer.getString(at: buffer.readerIndex, length: Swift.min(endOfHeaders, 64)) ?? ""
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        let status = parts.count > 1 ? UInt(parts[1]) ?? 0 : 0
        guard status == 101 else {
            fail(context: context, BenchError.upgradeRejected(status: status, uri: uri))
            return false
        }
        buffer.moveReaderIndex(forwardBy: endOfHeaders)
        state = .open
        stats.liveConnections.add(1, ordering: .relaxed)
        outcome.succeed()
        return true
    }

    private func readFrames(context: ChannelHandlerContext, buffer: inout ByteBuffer) {
        while buffer.readableBytes >= 2 {
            guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
                  let second = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self) else { return }
            let opcode = first & 0x0F
            let masked = second & 0x80 != 0
            var headerLength = 2 + (masked ? 4 : 0)
            var payloadLength = Int(second & 0x7F)
            if payloadLength == 126 {
                headerLength += 2
                guard let length = buffer.getInteger(at: buffer.readerIndex + 2, as: UInt16.self) else { return }
                payloadLength = Int(length)
            } else if payloadLength == 127 {
                headerLength += 8
                guard let length = buffer.getInteger(at: buffer.readerIndex + 2, as: UInt64.self) else { return }
                guard length <= UInt64(Self.maxFrameBytes) else {
                    context.close(promise: nil)
                    return
                }
                payloadLength = Int(length)
            }
            guard buffer.readableBytes >= headerLength + payloadLength else { return }
            let payloadStart = buffer.readerIndex + headerLength
            switch opcode {
            case 0x0, 0x1, 0x2:
                // Server frames are never masked (RFC 6455 5.1); a masked one simply has no marker.
                let sentAt = buffer.withUnsafeReadableBytes { bytes in
                    BenchTimestampScanner.timestamp(in: UnsafeRawBufferPointer(rebasing: bytes[headerLength..<(headerLength + payloadLength)]))
                }
                if let sentAt {
                    recorder.record(sentAtNanos: sentAt, receivedAtNanos: realtimeNanos())
                    stats.received.add(1, ordering: .relaxed)
                } else {
                    stats.unmarkedFrames.add(1, ordering: .relaxed)
                }
            case 0x8:
                stats.closeFramesFromServer.add(1, ordering: .relaxed)
                context.close(promise: nil)
                return
            case 0x9:
                // Servers that ping idle subscribers must not see the bench as dead.
                let payload = buffer.getBytes(at: payloadStart, length: Swift.min(payloadLength, 125)) ?? []
                context.writeAndFlush(wrapOutboundOut(maskedFrame(opcode: 0xA, payload: payload, allocator: context.channel.allocator)), promise: nil)
            default:
                break
            }
            buffer.moveReaderIndex(forwardBy: headerLength + payloadLength)
        }
    }

    /// Client frames must be masked (RFC 6455 5.3).
    private func maskedFrame(opcode: UInt8, payload: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        var frame = allocator.buffer(capacity: 6 + payload.count)
        frame.writeInteger(0x80 | opcode)
        frame.writeInteger(0x80 | UInt8(payload.count))
        frame.writeBytes(mask)
        frame.writeBytes(payload.enumerated().map { $0.element ^ mask[$0.offset % 4] })
        return frame
    }

    private func fail(context: ChannelHandlerContext, _ error: BenchError) {
        outcome.fail(error)
        state = .closed
        context.close(promise: nil)
    }
}
