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

    private let limits: Limits
    private var phase = Phase.awaitingFirstHead
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    /// Bytes received in the current body window.
    private var windowBytes = 0
    /// Set by the HTTP handler while a response is being written: how much of it is still queued.
    private var pendingOutbound: () -> Int = { 0 }
    private var lastPendingOutbound = 0

    /// Tells the admission the connection is in use (no longer a candidate to make room).
    private let ticket: ConnectionAdmission.Ticket?

    init(limits: Limits, ticket: ConnectionAdmission.Ticket?) {
        self.limits = limits
        self.ticket = ticket
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        arm(limits.handshake) { $0.timedOut(answer: true) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancel()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data).readableBytes
        switch phase {
        case .idle where bytes > 0:
            phase = .head
            arm(limits.requestHead) { $0.timedOut(answer: true) }
        case .body:
            windowBytes += bytes
        default:
            break
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancel()
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
            armBodyWindow()
        } else {
            phase = .working
            cancel()
        }
    }

    func requestComplete() {
        guard phase != .done else { return }
        phase = .working
        cancel()
    }

    /// A response is being written; `queuedBytes` tells how much of it the socket has not taken.
    func responding(queuedBytes: @escaping () -> Int) {
        guard phase != .done else { return }
        phase = .responding
        pendingOutbound = queuedBytes
        lastPendingOutbound = queuedBytes()
        armResponseWindow()
    }

    /// The response is written and the connection stays open for the next request.
    func responseWritten() {
        guard phase != .done else { return }
        pendingOutbound = { 0 }
        phase = .idle
        arm(limits.keepAlive) { $0.timedOut(answer: false) }
    }

    /// The connection became a WebSocket: this handler has nothing more to time.
    func upgraded() {
        if phase == .awaitingFirstHead { ticket?.activated() }
        cancel()
        phase = .done
    }

    /// Writes a complete answer below the HTTP codec and closes. For answers the codec cannot
    /// frame: a timeout in the middle of a request, and any answer to CONNECT (NIO's encoder drops
    /// the body and Content-Length of every CONNECT response, leaving the client to guess).
    func answerAndClose(_ response: HTTPResponse) {
        guard let context else { return }
        phase = .done
        cancel()
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(bytes: response.serialized(closing: true))))
            .whenComplete { _ in channel.close(promise: nil) }
    }

    // MARK: Timers

    private func armBodyWindow() {
        arm(limits.window) { handler in
            guard handler.phase == .body else { return }
            if handler.windowBytes < handler.limits.minBytesPerWindow {
                handler.timedOut(answer: true)
            } else {
                handler.windowBytes = 0
                handler.armBodyWindow()
            }
        }
    }

    /// A response must drain at least `minBytesPerWindow` per window (or finish).
    private func armResponseWindow() {
        arm(limits.window) { handler in
            guard handler.phase == .responding else { return }
            let pending = handler.pendingOutbound()
            if pending > 0 && handler.lastPendingOutbound - pending < handler.limits.minBytesPerWindow {
                handler.timedOut(answer: false)
            } else {
                handler.lastPendingOutbound = pending
                handler.armResponseWindow()
            }
        }
    }

    private func arm(_ delay: TimeAmount, _ fire: @escaping (ConnectionDeadlines) -> Void) {
        cancel()
        guard let context else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in fire(self) }
    }

    private func cancel() {
        timer?.cancel()
        timer = nil
    }

    /// A request that is under way gets a framed 408 (the client learns why); an idle or
    /// non-reading connection is just closed.
    private func timedOut(answer: Bool) {
        guard let context, phase != .done else { return }
        let wasPhase = phase
        phase = .done
        cancel()
        guard answer, wasPhase != .responding, wasPhase != .working else {
            context.close(promise: nil)
            return
        }
        answerAndClose(.error(GatewayError(code: "http.request_timeout", message: "The request did not arrive in time.",
                                           status: 408)))
    }
}
