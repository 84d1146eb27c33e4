import Atomics
import GatewayCore
import GatewayJSON
import Logging
import NIOCore
import NIOWebSocket

/// The writing side of one authenticated WebSocket client: routed events (after the
/// per-recipient filters), replayed history, acks and errors, close frames. It reads nothing —
/// client frames go to ClientFrameReader — and it does not register itself: FanOut does.
///
/// FanOut registers it before the 101 answer is written, so an event published the moment the
/// client sees the 101 is not missed; until the handler joins the pipeline (`handlerAdded`, just
/// after the 101), events wait in `held` and a close waits in `closeBeforeAttached`.
///
/// Lives on its channel's event loop only.
final class ClientConnection: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    struct Settings: Sendable {
        /// [server] max_outbound_bytes, named in the log when a client does not read.
        var maxOutboundBytes: Int
        /// [server] close_timeout_seconds: how long to wait for the client's close frame after ours.
        var closeTimeoutSeconds: Int = 5
        /// Keep-alive: ping this often (nil: never) and close when no pong came within `pongTimeout`.
        var pingInterval: TimeAmount?
        var pongTimeout: TimeAmount
    }

    let recipient: Recipient
    /// Names this connection in the admin console (and its disconnect action).
    let connectionId = ClientConnection.nextId.wrappingIncrementThenLoad(ordering: .relaxed)
    let connectedAt = ISOTimestamp.now()
    private static let nextId = ManagedAtomic<UInt64>(0)
    private let settings: Settings
    private let metrics: GatewayMetrics
    private let logger: Logger
    private var context: ChannelHandlerContext!
    /// The WebSocketFrameEncoder's context: writing here skips the encoder, so a pre-encoded
    /// frame goes to the socket unchanged.
    private var rawWriter: ChannelHandlerContext!
    private var needsFlush = false
    private(set) var closing = false
    /// In the pipeline (after the 101): until then nothing can be written.
    private var attached = false
    /// A close asked for before the handler was in the pipeline, sent as soon as it is.
    private var closeBeforeAttached: (code: WebSocketErrorCode, reason: String?, immediately: Bool)?
    /// While missed events are replayed from history (or before the handler is attached), live
    /// events wait in `held` to keep order.
    private var replaying: Bool
    private var held: [RoutedEvent] = []
    /// Ids the replay wrote that have not come live yet. With the redis engine an event may be
    /// in the shared history (read by the replay) before its PUBLISH reaches this node: when it
    /// then arrives live, after the replay ended, it is dropped here instead of written twice.
    /// At most [history] per_recipient ids; each leaves the set when its live copy arrives.
    private var replayedNotYetLive: Set<Int64> = []
    private var pinging: RepeatedTask?
    /// The number of the ping waiting for its pong; nil when none is.
    private var awaitedPing: UInt64?
    private var pingsSent: UInt64 = 0
    /// The last ping's pong deadline. A pong does not cancel it: NIO finds a cancelled task by a
    /// linear search of the loop's timer queue, which holds every connection's timers (at 1,000
    /// idle clients that search was most of the cost of keep-alive). The deadline fires and
    /// finds its ping answered instead.
    private var pongDeadline: Scheduled<Void>?

    static let maxEventsHeldDuringReplay = 10_000

    /// `replaying`: history will be replayed first (`writeReplayed`, then `finishReplay`).
    init(recipient: Recipient, replaying: Bool, settings: Settings, metrics: GatewayMetrics, logger: Logger) {
        self.recipient = recipient
        self.replaying = replaying
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        guard let encoder = try? context.pipeline.syncOperations.context(handlerType: WebSocketFrameEncoder.self) else {
            // NIO's upgrader always installs the encoder before us; without it we cannot send.
            logger.error("websocket pipeline without a frame encoder; closing the connection")
            closing = true
            context.close(promise: nil)
            return
        }
        rawWriter = encoder
        attached = true
        if let pending = closeBeforeAttached {
            closing = false
            close(code: pending.code, reason: pending.reason, immediately: pending.immediately)
            return
        }
        if !replaying { writeHeld(replayed: []) }
        if let interval = settings.pingInterval {
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            pinging = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                bound.value.ping()
            }
        }
    }

    /// What the admin console lists; read on this connection's loop.
    var summary: ConnectionSummary {
        let queued = (try? context?.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
        return ConnectionSummary(id: connectionId, principal: recipient.id, host: recipient.host,
                                 connectedAt: connectedAt, queuedBytes: queued)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        held.removeAll()
        pinging?.cancel()
        pinging = nil
        pongDeadline?.cancel()
        pongDeadline = nil
    }

    // MARK: Keep-alive

    /// One ping at a time: a client that has not answered the last one gets no new one.
    private func ping() {
        guard !closing, awaitedPing == nil else { return }
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .ping, data: context.channel.allocator.buffer(string: "keep-alive"))),
                              promise: nil)
        pingsSent += 1
        let ping = pingsSent
        awaitedPing = ping
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        pongDeadline = context.eventLoop.scheduleTask(in: settings.pongTimeout) { bound.value.pongDeadlinePassed(ping: ping) }
    }

    /// A half-open socket (the peer vanished without a FIN) would stay registered for good:
    /// close it, which unregisters it.
    private func pongDeadlinePassed(ping: UInt64) {
        guard awaitedPing == ping else { return }  // answered
        pongDeadline = nil
        guard !closing else { return }
        metrics.pingTimeouts.increment()
        logger.debug("closing a client that did not answer a ping", metadata: ["identity": "\(recipient.id)"])
        close(code: .goingAway, reason: "no pong within the keep-alive timeout", immediately: true)
    }

    /// Any pong counts (RFC 6455 allows unsolicited ones): the client is alive.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard unwrapInboundIn(data).opcode == .pong else { return }
        awaitedPing = nil
    }

    // MARK: Events

    enum DeliveryResult {
        case notWritten
        case written
        /// Written, and the first write since the last flush: the shard flushes it at the end of its drain.
        case firstWriteOfDrain
    }

    /// Writes one routed event, as RecipientView decides for this recipient. No flush: the
    /// shard calls `flushIfNeeded` once per drain.
    func deliver(_ event: RoutedEvent) -> DeliveryResult {
        if closing { return .notWritten }
        if !replayedNotYetLive.isEmpty && replayedNotYetLive.remove(event.id) != nil { return .notWritten }
        if replaying || !attached {
            // Bounded like the outbound queue: a replay that cannot keep up with live traffic
            // ends with 1013 (try again later) instead of holding events without limit.
            guard held.count < Self.maxEventsHeldDuringReplay else {
                close(code: WebSocketErrorCode(codeNumber: 1013), reason: "too many live events during history replay; reconnect")
                return .notWritten
            }
            held.append(event)
            return .notWritten
        }
        return write(event)
    }

    private func write(_ event: RoutedEvent) -> DeliveryResult {
        let frame: ByteBuffer
        switch RecipientView.outcome(of: event.outbound, for: recipient) {
        case .shared:
            frame = event.frame
        case .dropped:
            metrics.drop(.filtered)
            return .notWritten
        case .redacted(let copy):
            frame = WebSocketFrameBytes.text(copy.encoded(), allocator: context.channel.allocator)
        }
        rawWriter.write(NIOAny(frame), promise: nil)
        if needsFlush { return .written }
        needsFlush = true
        return .firstWriteOfDrain
    }

    func flushIfNeeded() {
        guard needsFlush else { return }
        needsFlush = false
        if !closing { context.flush() }
    }

    // MARK: Replay of missed events

    /// One recorded event, already through RecipientView.
    func writeReplayed(_ payload: [UInt8]) {
        guard !closing else { return }
        rawWriter.write(NIOAny(WebSocketFrameBytes.text(payload, allocator: context.channel.allocator)), promise: nil)
    }

    /// Ends the replay: live events held meanwhile follow, without those the replay read.
    /// Compared by id, not by "greater than the last replayed id": on a shared engine two nodes
    /// may publish ids 6 then 5, and 5 is then new to this client although smaller.
    func finishReplay(replayed: Set<Int64>) {
        replaying = false
        writeHeld(replayed: replayed)
    }

    /// Writes the live events held during the replay or before attaching, skipping those the
    /// replay already wrote, and flushes.
    private func writeHeld(replayed: Set<Int64>) {
        let waiting = held
        held.removeAll()
        var notYetLive = replayed
        for event in waiting where notYetLive.remove(event.id) == nil { _ = write(event) }
        replayedNotYetLive = notYetLive
        needsFlush = false
        if !closing { context.flush() }
    }

    /// A client that stops reading fills its outbound buffer past the configured bound
    /// (the channel's high-water mark): disconnect it rather than let it slow anyone else.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if !context.channel.isWritable && !closing {
            metrics.slowConsumers.increment()
            metrics.drop(.slowConsumer)
            logger.warning("disconnecting a client that does not read", metadata: [
                "identity": "\(recipient.id)", "limit_bytes": "\(settings.maxOutboundBytes)",
            ])
            close(code: .policyViolation, reason: "outbound queue limit exceeded: the client does not read",
                  immediately: true)
        }
        context.fireChannelWritabilityChanged()
    }

    /// The drain (SIGTERM) asks every connection to finish: a WebSocket says "going away". A
    /// framing violation (WebSocketFrameRules) ends it with 1002.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            close(code: .goingAway, reason: "gateway shutting down")
            return
        }
        if let violation = event as? WebSocketFramingViolation {
            // After our own close frame, no second one: the peer broke framing, so stop waiting.
            if closing { context.close(promise: nil) } else {
                close(code: .protocolError, reason: violation.reason, immediately: true)
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: Answers and control frames

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

    func sendAck(ref: JSONView, id: Int64? = nil) {
        let ack = JSON.object()
        ack.set("type", "ack")
        if let retained = ref.retained() { ack.set("ref", retained) }
        if let id { ack.set("id", .integer(Int(id))) }
        send(json: ack)
    }

    func sendPong(_ data: ByteBuffer) {
        guard !closing else { return }
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: data)), promise: nil)
    }

    /// Sends a close frame and closes. `immediately` skips waiting for the client's close reply
    /// (used when the client is not reading at all).
    func close(code: WebSocketErrorCode, reason: String?, immediately: Bool = false) {
        guard !closing else { return }
        closing = true
        guard attached else {
            closeBeforeAttached = (code, reason, immediately)
            return
        }
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
        let closeWait = TimeAmount.seconds(Int64(settings.closeTimeoutSeconds))
        context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in
            channel.eventLoop.scheduleTask(in: closeWait) { channel.close(promise: nil) }
        }
    }
}
