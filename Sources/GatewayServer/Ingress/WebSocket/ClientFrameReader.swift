import GatewayAuth
import GatewayCore
import GatewayJSON
import NIOCore
import NIOWebSocket

/// The reading side of one WebSocket client: RFC 6455 rules the NIO codec leaves to us (UTF-8,
/// control frames, close codes), the client's frame budget, and the client protocol
/// (ClientProtocol) for text frames. Answers go out through the connection.
///
/// Lives on its channel's event loop only.
final class ClientFrameReader: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame

    struct Settings: Sendable {
        var maxMessageBytes: Int
        var framesPerSecond: Int
        var frameBurst: Int
    }

    private let connection: ClientConnection
    private let client: ClientProtocol
    private let settings: Settings
    /// Client frames per second (publish, typing, read): one flooding client must not eat its
    /// event loop's time.
    private var frameBudget: TokenBucket

    init(connection: ClientConnection, client: ClientProtocol, settings: Settings) {
        self.connection = connection
        self.client = client
        self.settings = settings
        self.frameBudget = TokenBucket(rate: settings.framesPerSecond, burst: settings.frameBurst,
                                       nowNanoseconds: NIODeadline.now().uptimeNanoseconds)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            // After the server's close frame the session is over: a publish now would be routed
            // without its ack reaching the client, which might then send it again.
            guard !connection.closing else { return }
            var data = frame.unmaskedData
            let bytes = data.readBytes(length: data.readableBytes) ?? []
            guard let text = String(validating: bytes, as: UTF8.self) else {
                connection.close(code: .dataInconsistentWithMessage, reason: "text frames must be valid UTF-8")
                return
            }
            guard frameBudget.take(nowNanoseconds: NIODeadline.now().uptimeNanoseconds) else {
                connection.sendError(ref: nil, GatewayError(
                    code: "client.rate_limited",
                    message: "More than \(settings.framesPerSecond) frames per second: this frame was dropped; slow down.",
                    status: 429))
                return
            }
            client.handle(text: text, connection: connection, loop: context.eventLoop)
        case .binary:
            connection.close(code: .unacceptableData, reason: "binary frames are not part of the client protocol; send JSON text")
        case .ping:
            guard frame.fin else {
                connection.close(code: .protocolError, reason: "fragmented control frame")
                return
            }
            connection.sendPong(frame.unmaskedData)
        case .pong:
            context.fireChannelRead(data)
        case .connectionClose:
            receivedClose(frame)
        default:
            connection.close(code: .protocolError, reason: "unexpected opcode")
        }
    }

    /// Errors from the fragment aggregator: a message over the limit (1009) or bad fragments (1002).
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let aggregation = error as? NIOWebSocketFrameAggregator.Error {
            switch aggregation {
            case .accumulatedFrameSizeIsTooLarge:
                connection.close(code: .messageTooLarge, reason: "message larger than \(settings.maxMessageBytes) bytes")
            default:
                connection.close(code: .protocolError, reason: "invalid fragmented message")
            }
            return
        }
        context.close(promise: nil)
    }

    private func receivedClose(_ frame: WebSocketFrame) {
        var data = frame.unmaskedData
        let code: WebSocketErrorCode
        if data.readableBytes == 0 {
            code = .normalClosure
        } else if data.readableBytes == 1 {
            connection.close(code: .protocolError, reason: "close frame with a one-byte body")
            return
        } else {
            let raw = data.readInteger(as: UInt16.self) ?? 1000
            guard Self.isValidCloseCode(raw),
                  String(validating: data.readBytes(length: data.readableBytes) ?? [], as: UTF8.self) != nil else {
                connection.close(code: .protocolError, reason: "invalid close code or reason")
                return
            }
            code = WebSocketErrorCode(codeNumber: Int(raw))
        }
        // Echo the close (RFC 6455 §5.5.1) and let the client close the TCP connection first;
        // the connection closes it itself if the client does not.
        connection.close(code: code, reason: nil)
    }

    static func isValidCloseCode(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1011, 3000...4999: return true
        default: return false
        }
    }
}
