import GatewayCore
import NIOCore

/// The one owner of an HTTP connection's clocks. It sits at the front of the pipeline (after TLS),
/// sees raw bytes arrive, and is told by the HTTP handler where the request/response cycle is.
/// Whatever the phase, a client that stops making progress loses the connection:
///
///   accepted ──(handshake_timeout)──▶ first head        slowloris, idle sockets, stalled TLS
///   idle ──(keepalive_timeout)──▶ closed                 parked keep-alive connections
///   idle ─first byte─▶ head ──(request_head_timeout)──▶ 408
///   body: every window, at least min_bytes_per_second  trickled bodies → 408
///   responding: every window, the answer must drain    clients that never read → closed
///   upgraded to WebSocket: no clock here (ClientConnection owns the close handshake)
///
/// Lives on its channel's event loop only.
final class ConnectionDeadlines: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct Limits: Sendable {
        let handshake: TimeAmount
        let requestHead: TimeAmount
        let keepAlive: TimeAmount
        /// Length of one progress window for bodies and responses.
        let window: TimeAmount
        let minBytesPerWindow: Int

        init(_ server: GatewayConfig.Server) {
            handshake = .seconds(Int64(server.handshakeTimeoutSeconds))
            requestHead = .seconds(Int64(server.requestHeadTimeoutSeconds))
            keepAlive = .seconds(Int64(server.keepAliveTimeoutSeconds))
            window = requestHead
            minBytesPerWindow = server.minBytesPerSecond * server.requestHeadTimeoutSeconds
        }
    }

    private enum Phase {
        case awaitingFirstHead
        case idle
        case head
        case body
        /// The gateway is computing or sending an answer: the client's clock does not run until
        /// the answer is handed to the socket (see `responding`).
        case working
        case responding
        case done
    }

    /// What happens when the current deadline passes.
    private enum Expiry {
        /// A request is not arriving (handshake, head): a framed 408, or a close when idle.
        case timedOut(answer: Bool)
        /// One body window ended: enough bytes, or 408.
        case bodyWindow
        /// One response window ended: the answer drained enough, or the connection closes.
        case responseWindow
    }

    private let limits: Limits
    private var phase = Phase.awaitingFirstHead
    /// The current clock: when it runs out and what then. nil while the gateway itself works.
    private var deadline: NIODeadline?
    private var expiry = Expiry.timedOut(answer: true)
    /// Fires at or before `deadline` (see `arm`); nil when nothing is scheduled.
    private var timer: Scheduled<Void>?
    /// The shortest limit: the timer never sleeps longer, so a new deadline (always at least this
    /// far away) is never earlier than the scheduled wake-up and never needs a cancel.
    private let granularity: TimeAmount
    private var context: ChannelHandlerContext?
    /// Bytes received in the current body window.
    private var windowBytes = 0
    private var lastPendingOutbound = 0

    /// Tells the admission the connection is in use (no longer a candidate to make room).
    private let ticket: ConnectionAdmission.Ticket?

    init(limits: Limits, ticket: ConnectionAdmission.Ticket?) {
        self.limits = limits
        self.ticket = ticket
        granularity = min(limits.handshake, limits.requestHead, limits.keepAlive, limits.window)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        arm(limits.handshake, .timedOut(answer: true))
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopClock()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data).readableBytes
        switch phase {
        case .idle where bytes > 0:
            phase = .head
            arm(limits.requestHead, .timedOut(answer: true))
        case .body:
            windowBytes += bytes
        default:
            break
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopClock()
        phase = .done
        context.fireChannelInactive()
    }

    // MARK: Told by the HTTP handler

    /// A request head is complete; `expectsBody` when a body follows.
    func headReceived(expectsBody: Bool) {
        guard phase != .done else { return }
        if phase == .awaitingFirstHead { ticket?.activated() }
        if expectsBody {
            phase = .body
            windowBytes = 0
            arm(limits.window, .bodyWindow)
        } else {
            phase = .working
            deadline = nil
        }
    }

    func requestComplete() {
        guard phase != .done else { return }
        phase = .working
        deadline = nil
    }

    /// A response is being written: from now on it must drain (what the socket has not taken
    /// yet is the channel's buffered outbound bytes). `queuedAtMost`: the answer's size when
    /// that is all that can be queued (one answer in flight): asking the channel costs more than
    /// the rest of a small answer's bookkeeping; nil asks it.
    func responding(queuedAtMost: Int?) {
        guard phase != .done else { return }
        phase = .responding
        lastPendingOutbound = queuedAtMost ?? pendingOutbound()
        arm(limits.window, .responseWindow)
    }

    /// Writes a complete, framed answer (HTTPResponse.wireBytes) below the HTTP codec, through
    /// TLS when there is TLS, and flushes.
    func writeBelowCodec(_ bytes: ByteBuffer, promise: EventLoopPromise<Void>) {
        guard let context else { return promise.fail(ChannelError.ioOnClosedChannel) }
        context.writeAndFlush(wrapOutboundOut(bytes), promise: promise)
    }

    /// What the socket has not taken yet of the answer being written.
    private func pendingOutbound() -> Int {
        (try? context?.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
    }

    /// The response is written and the connection stays open for the next request.
    func responseWritten() {
        guard phase != .done else { return }
        phase = .idle
        arm(limits.keepAlive, .timedOut(answer: false))
    }

    /// The connection became a WebSocket: this handler has nothing more to time.
    func upgraded() {
        if phase == .awaitingFirstHead { ticket?.activated() }
        stopClock()
        phase = .done
    }

    /// Writes a complete answer below the HTTP codec and closes. For answers the codec cannot
    /// frame: a timeout in the middle of a request, and any answer to CONNECT (NIO's encoder drops
    /// the body and Content-Length of every CONNECT response, leaving the client to guess).
    func answerAndClose(_ response: HTTPResponse) {
        guard let context else { return }
        phase = .done
        stopClock()
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(bytes: response.serialized(closing: true))))
            .whenComplete { _ in channel.close(promise: nil) }
    }

    // MARK: Timers

    // A keep-alive connection moves through four clocks per request. Cancelling a scheduled
    // task costs a linear search of the loop's timer queue (every connection's timers), so the
    // clock is a deadline field, and one timer per connection wakes at most `granularity` apart
    // and compares: a request/response cycle schedules and cancels nothing.

    private func arm(_ delay: TimeAmount, _ expiry: Expiry) {
        deadline = .now() + delay
        self.expiry = expiry
        if timer == nil { schedule(in: min(delay, granularity)) }
    }

    private func schedule(in delay: TimeAmount) {
        guard let context else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in wokeUp() }
    }

    private func wokeUp() {
        timer = nil
        guard phase != .done, let deadline else { return }
        let now = NIODeadline.now()
        if now < deadline {
            schedule(in: min(deadline - now, granularity))
            return
        }
        self.deadline = nil
        switch expiry {
        case .timedOut(let answer):
            timedOut(answer: answer)
        case .bodyWindow:
            guard phase == .body else { return }
            if windowBytes < limits.minBytesPerWindow {
                timedOut(answer: true)
            } else {
                windowBytes = 0
                arm(limits.window, .bodyWindow)
            }
        case .responseWindow:
            guard phase == .responding else { return }
            let pending = pendingOutbound()
            if pending > 0 && lastPendingOutbound - pending < limits.minBytesPerWindow {
                timedOut(answer: false)
            } else {
                lastPendingOutbound = pending
                arm(limits.window, .responseWindow)
            }
        }
    }

    /// The connection is finished here: no clock and no wake-up.
    private func stopClock() {
        deadline = nil
        timer?.cancel()
        timer = nil
    }

    /// A request that is under way gets a framed 408 (the client learns why); an idle or
    /// non-reading connection is just closed.
    private func timedOut(answer: Bool) {
        guard let context, phase != .done else { return }
        let wasPhase = phase
        phase = .done
        stopClock()
        guard answer, wasPhase != .responding, wasPhase != .working else {
            context.close(promise: nil)
            return
        }
        answerAndClose(.error(GatewayError(code: "http.request_timeout", message: "The request did not arrive in time.",
                                           status: 408)))
    }
}
