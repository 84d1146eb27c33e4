import GatewayAuth
import GatewayCore
import GatewayJSON
import GatewayStore
import NIOCore
import NIOWebSocket

/// One authenticated WebSocket client: receives routed events, sends client frames (publish,
/// typing, read marks) into the router, and enforces RFC 6455 rules the NIO codec leaves to us.
///
/// Lives on its channel's event loop only.
final class ClientConnection: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let identity: Identity
    let host: String
    let recipient: Recipient
    private let server: ServerContext
    private let resumeAfter: Int64?
    private var shard: LoopShard!
    private var context: ChannelHandlerContext!
    /// The WebSocketFrameEncoder's context: writing here skips the encoder, so a pre-encoded
    /// frame goes to the socket unchanged.
    private var rawWriter: ChannelHandlerContext!
    private var needsFlush = false
    private var closing = false
    /// While missed events are replayed from history, live events wait here to keep order.
    private var replaying = false
    private var held: [RoutedEvent] = []
    /// Client frames per second (publish, typing, read): one flooding client must not eat its
    /// event loop's time.
    private var frameBudget: TokenBucket

    init(identity: Identity, host: String, resumeAfter: Int64?, server: ServerContext) {
        self.identity = identity
        self.host = host
        self.resumeAfter = resumeAfter
        self.server = server
        self.frameBudget = TokenBucket(rate: server.config.server.clientFramesPerSecond,
                                       burst: server.config.server.clientFrameBurst,
                                       nowNanoseconds: NIODeadline.now().uptimeNanoseconds)
        self.recipient = Recipient(id: identity.id, principals: identity.principals, host: host)
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        shard = server.fanOut.shard(for: context.eventLoop)
        guard let encoder = try? context.pipeline.syncOperations.context(handlerType: WebSocketFrameEncoder.self) else {
            // NIO's upgrader always installs the encoder before us; without it we cannot send.
            server.logger.error("websocket pipeline without a frame encoder; closing the connection")
            context.close(promise: nil)
            return
        }
        rawWriter = encoder
        replaying = resumeAfter != nil
        shard.register(self)
        if let resumeAfter { replay(after: resumeAfter) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        shard.unregister(self)
        held.removeAll()
    }

    func channelInactive(context: ChannelHandlerContext) {
        shard.unregister(self)
        context.fireChannelInactive()
    }

    // MARK: Outbound: events

    /// Writes one routed event (after the per-recipient filters). Returns whether it was written.
    func deliver(_ event: RoutedEvent) -> Bool {
        if closing { return false }
        if replaying {
            // Bounded like the outbound queue: a replay that cannot keep up with live traffic
            // ends with 1013 (try again later) instead of holding events without limit.
            guard held.count < Self.maxEventsHeldDuringReplay else {
                close(code: WebSocketErrorCode(codeNumber: 1013), reason: "too many live events during history replay; reconnect")
                return false
            }
            held.append(event)
            return false
        }
        return write(event)
    }

    static let maxEventsHeldDuringReplay = 10_000

    private func write(_ event: RoutedEvent) -> Bool {
        var frame = event.frame
        if !event.filterPlan.isEmpty {
            switch event.chain.filter(event.event.view, for: recipient, plan: event.filterPlan) {
            case .deliver:
                break
            case .drop:
                server.metrics.drop(.filtered)
                return false
            case .redacted(let copy):
                frame = WebSocketFrameBytes.text(copy.encoded(), allocator: context.channel.allocator)
            }
        }
        rawWriter.write(NIOAny(frame), promise: nil)
        if !needsFlush {
            needsFlush = true
            shard.markTouched(self)
        }
        return true
    }

    func flushIfNeeded() {
        guard needsFlush else { return }
        needsFlush = false
        if !closing { context.flush() }
    }

    /// A client that stops reading fills its outbound buffer past the configured bound
    /// (the channel's high-water mark): disconnect it rather than let it slow anyone else.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if !context.channel.isWritable && !closing {
            server.metrics.slowConsumers.increment()
            server.metrics.drop(.slowConsumer)
            server.logger.warning("disconnecting a client that does not read", metadata: [
                "identity": "\(identity.id)", "limit_bytes": "\(server.config.server.maxOutboundBytes)",
            ])
            close(code: .policyViolation, reason: "outbound queue limit exceeded: the client does not read",
                  immediately: true)
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Replay of missed events

    private func replay(after lastId: Int64) {
        guard let history = server.history else {
            finishReplay(lastReplayed: lastId)
            return
        }
        let principals = identity.principals
        let host = self.host
        let sender = identity.id
        let limit = server.config.history.perRecipient
        let loop = context.eventLoop
        server.blockingPool.runIfActive(eventLoop: loop) { () throws -> [StoredEvent] in
            history.flush()
            return try history.after(id: lastId, principals: principals, host: host, excludingSender: sender, limit: limit)
        }.whenComplete { result in
            switch result {
            case .success(let events):
                var last = lastId
                for stored in events where !self.closing {
                    self.writeStored(stored)
                    last = max(last, stored.id)
                }
                self.finishReplay(lastReplayed: last)
            case .failure(let error):
                self.server.logger.error("history replay failed", metadata: ["error": "\(error)"])
                self.sendError(ref: nil, GatewayError(code: "history.unavailable",
                                                     message: "Missed events could not be read; live events continue.", status: 503))
                self.finishReplay(lastReplayed: lastId)
            }
        }
    }

    private func writeStored(_ stored: StoredEvent) {
        let chain = server.chain.current
        var payload = stored.payload
        if chain.hasRecipientFilters, let event = try? JSON.parse(stored.payload) {
            switch chain.filter(event.view, for: recipient) {
            case .deliver: break
            case .drop: return
            case .redacted(let copy): payload = copy.encoded()
            }
        }
        rawWriter.write(NIOAny(WebSocketFrameBytes.text(payload, allocator: context.channel.allocator)), promise: nil)
    }

    private func finishReplay(lastReplayed: Int64) {
        replaying = false
        let waiting = held
        held.removeAll()
        for event in waiting where event.id > lastReplayed { _ = write(event) }
        needsFlush = false
        if !closing { context.flush() }
    }

    // MARK: Inbound frames

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            var data = frame.unmaskedData
            let bytes = data.readBytes(length: data.readableBytes) ?? []
            guard let text = String(validating: bytes, as: UTF8.self) else {
                close(code: .dataInconsistentWithMessage, reason: "text frames must be valid UTF-8")
                return
            }
            guard frameBudget.take(nowNanoseconds: NIODeadline.now().uptimeNanoseconds) else {
                sendError(ref: nil, GatewayError(
                    code: "client.rate_limited",
                    message: "More than \(server.config.server.clientFramesPerSecond) frames per second: this frame was dropped; slow down.",
                    status: 429))
                return
            }
            ClientProtocol.handle(text: text, from: self, server: server)
        case .binary:
            close(code: .unacceptableData, reason: "binary frames are not part of the client protocol; send JSON text")
        case .ping:
            guard frame.fin else { close(code: .protocolError, reason: "fragmented control frame"); return }
            let pong = WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .pong:
            break
        case .connectionClose:
            receivedClose(frame)
        default:
            close(code: .protocolError, reason: "unexpected opcode")
        }
    }

    /// Errors from the fragment aggregator: a message over the limit (1009) or bad fragments (1002).
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let aggregation = error as? NIOWebSocketFrameAggregator.Error {
            switch aggregation {
            case .accumulatedFrameSizeIsTooLarge:
                close(code: .messageTooLarge, reason: "message larger than \(server.config.server.maxMessageBytes) bytes")
            default:
                close(code: .protocolError, reason: "invalid fragmented message")
            }
            return
        }
        server.logger.debug("websocket connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    private func receivedClose(_ frame: WebSocketFrame) {
        var data = frame.unmaskedData
        let code: WebSocketErrorCode
        if data.readableBytes == 0 {
            code = .normalClosure
        } else if data.readableBytes == 1 {
            close(code: .protocolError, reason: "close frame with a one-byte body")
            return
        } else {
            let raw = data.readInteger(as: UInt16.self) ?? 1000
            guard Self.isValidCloseCode(raw),
                  String(validating: data.readBytes(length: data.readableBytes) ?? [], as: UTF8.self) != nil else {
                close(code: .protocolError, reason: "invalid close code or reason")
                return
            }
            code = WebSocketErrorCode(codeNumber: Int(raw))
        }
        // Echo the close (RFC 6455 §5.5.1) and let the client close the TCP connection first;
        // close it ourselves if it does not.
        close(code: code, reason: nil)
    }

    static func isValidCloseCode(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1011, 3000...4999: return true
        default: return false
        }
    }

    // MARK: Outbound: control frames

    func send(json: JSON) {
        guard !closing else { return }
        var buffer = context.channel.allocator.buffer(capacity: 128)
        buffer.writeBytes(json.encoded())
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, data: buffer)), promise: nil)
    }

    func sendError(ref: JSONView?, _ error: GatewayError) {
        let frame = JSON.object()
        frame.set("type", "error")
        if let ref, ref.exists, let retained = ref.retained() { frame.set("ref", retained) }
        let body = JSON.object()
        body.set("code", error.code)
        body.set("message", error.message)
        frame.set("error", body)
        send(json: frame)
    }

    /// Sends a close frame and closes. `immediately` skips waiting for the client's close reply
    /// (used when the client is not reading at all).
    func close(code: WebSocketErrorCode, reason: String?, immediately: Bool = false) {
        guard !closing else { return }
        closing = true
        var buffer = context.channel.allocator.buffer(capacity: 2 + (reason?.utf8.count ?? 0))
        buffer.write(webSocketErrorCode: code)
        if let reason { buffer.writeString(String(reason.prefix(120))) }
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, data: buffer)
        let channel = context.channel
        if immediately {
            context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
            channel.close(promise: nil)
            return
        }
        context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in
            channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
        }
    }

    var eventLoop: EventLoop { context.eventLoop }
}
