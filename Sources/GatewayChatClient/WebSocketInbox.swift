import NIOCore
import NIOWebSocket

/// The client's end of the pipeline after the upgrade. It reassembles fragmented messages, answers
/// pings, and queues everything else for `next()`. All state is touched only on the channel's
/// event loop (every public entry point hops there first), which is why it can be
/// `@unchecked Sendable` without locks.
final class WebSocketInbox: ChannelInboundHandler, @unchecked Sendable {  // @unchecked: state used on the channel's loop only
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private struct Waiter {
        let promise: EventLoopPromise<WebSocketMessage>
        let timeout: Scheduled<Void>
    }

    private let maxMessageSize: Int
    private var context: ChannelHandlerContext?
    private var queue = CircularBuffer<WebSocketMessage>()
    private var waiter: Waiter?
    private var partial: (opcode: WebSocketOpcode, data: ByteBuffer)?
    private var receivedClose = false
    private var sentClose = false
    private var connectionGone = false
    private var failure: WebSocketClientError?
    private var closeEchoPromise: EventLoopPromise<Void>?

    init(maxMessageSize: Int) {
        self.maxMessageSize = maxMessageSize
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // The handler can be added after the channel already went away (server hung up right
        // after the 101); channelInactive would never come, so record it now.
        if !context.channel.isActive { connectionGone = true }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary:
            guard partial == nil else {
                return fail(context, .protocolViolation("a new data frame arrived before the fragmented message was finished"))
            }
            if frame.fin {
                deliver(message(opcode: frame.opcode, data: frame.unmaskedData))
            } else {
                partial = (frame.opcode, frame.unmaskedData)
                checkPartialSize(context)
            }
        case .continuation:
            guard var pending = partial else {
                return fail(context, .protocolViolation("a continuation frame arrived without a message to continue"))
            }
            var chunk = frame.unmaskedData
            pending.data.writeBuffer(&chunk)
            partial = pending
            guard checkPartialSize(context) else { return }
            if frame.fin {
                partial = nil
                deliver(message(opcode: pending.opcode, data: pending.data))
            }
        case .ping:
            // Answer at once and do not surface it: pings are liveness checks, not content.
            guard !sentClose else { return }
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .pong:
            deliver(.pong(Array(buffer: frame.unmaskedData)))
        case .connectionClose:
            receivedClose = true
            deliver(Self.closeMessage(frame.unmaskedData))
            closeEchoPromise?.succeed(())
            closeEchoPromise = nil
        default:
            fail(context, .protocolViolation("unknown opcode \(frame.opcode)"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        connectionGone = true
        if !receivedClose && failure == nil {
            deliver(.disconnected)
        }
        if let waiter {
            // Only reachable after a close frame or a failure: nothing more will ever arrive.
            self.waiter = nil
            waiter.timeout.cancel()
            if let failure { waiter.promise.fail(failure) } else { waiter.promise.succeed(.disconnected) }
        }
        closeEchoPromise?.succeed(())
        closeEchoPromise = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let decoderError = error as? NIOWebSocketError, decoderError == .invalidFrameLength {
            fail(context, .messageTooLarge(limit: maxMessageSize))
        } else {
            fail(context, .protocolViolation("\(error)"))
        }
    }

    // MARK: Called by WebSocketClient (on the event loop)

    func next(timeout: TimeAmount, eventLoop: EventLoop) -> EventLoopFuture<WebSocketMessage> {
        if let message = queue.popFirst() {
            return eventLoop.makeSucceededFuture(message)
        }
        if let failure {
            return eventLoop.makeFailedFuture(failure)
        }
        if connectionGone {
            return eventLoop.makeSucceededFuture(.disconnected)
        }
        guard waiter == nil else {
            return eventLoop.makeFailedFuture(WebSocketClientError.concurrentNext)
        }
        let promise = eventLoop.makePromise(of: WebSocketMessage.self)
        let timeoutTask = eventLoop.scheduleTask(in: timeout) { [self] in
            self.waiter = nil
            promise.fail(WebSocketClientError.timeout(timeout))
        }
        waiter = Waiter(promise: promise, timeout: timeoutTask)
        return promise.futureResult
    }

    /// Sends a close frame (once), waits up to `echoTimeout` for the server's close frame, then
    /// closes TCP. Completes when the channel is closed.
    func close(code: UInt16, echoTimeout: TimeAmount, eventLoop: EventLoop) -> EventLoopFuture<Void> {
        guard let context, !connectionGone else { return eventLoop.makeSucceededVoidFuture() }
        let channel = context.channel
        if !sentClose {
            sentClose = true
            var payload = context.channel.allocator.buffer(capacity: 2)
            payload.writeInteger(code)
            let frame = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: payload)
            context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
        }
        let echo = closeEchoPromise ?? eventLoop.makePromise(of: Void.self)
        if receivedClose {
            echo.succeed(())
        } else {
            closeEchoPromise = echo
            eventLoop.scheduleTask(in: echoTimeout) { echo.succeed(()) }
        }
        return echo.futureResult.flatMap {
            channel.close().recover { _ in }  // already closed by the server: that is the goal anyway
        }
    }

    func markCloseSent() {
        sentClose = true
    }

    // MARK: Helpers

    private func deliver(_ message: WebSocketMessage) {
        if let waiter {
            self.waiter = nil
            waiter.timeout.cancel()
            waiter.promise.succeed(message)
        } else {
            queue.append(message)
        }
    }

    private func fail(_ context: ChannelHandlerContext, _ error: WebSocketClientError) {
        if failure == nil { failure = error }
        partial = nil
        context.close(promise: nil)
    }

    @discardableResult
    private func checkPartialSize(_ context: ChannelHandlerContext) -> Bool {
        guard let partial, partial.data.readableBytes > maxMessageSize else { return true }
        fail(context, .messageTooLarge(limit: maxMessageSize))
        return false
    }

    private func message(opcode: WebSocketOpcode, data: ByteBuffer) -> WebSocketMessage {
        // Invalid UTF-8 in a text message is a server bug; replacement characters keep it visible.
        opcode == .text ? .text(String(buffer: data)) : .binary(Array(buffer: data))
    }

    static func closeMessage(_ payload: ByteBuffer) -> WebSocketMessage {
        var payload = payload
        guard let code = payload.readInteger(as: UInt16.self) else {
            return .close(code: nil, reason: "")
        }
        return .close(code: code, reason: payload.readString(length: payload.readableBytes) ?? "")
    }
}
