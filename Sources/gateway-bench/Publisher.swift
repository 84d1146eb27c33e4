import NIOCore
import NIOHTTP1
import NIOPosix

/// What the publisher did, read after it finished.
struct PublishSummary {
    var accepted = 0
    var rejected = 0
    var firstRejection: String?
    /// Deliveries the subscribers should see: for each accepted event, the number of live
    /// recipients when it was sent.
    var expectedDeliveries = 0
    var firstSendNanos: UInt64 = 0
    var lastSendNanos: UInt64 = 0
    /// Publishing connections the server closed and the publisher reopened.
    var reconnects = 0
}

/// How the scenario wants events addressed and counted.
struct PublishPlan: Sendable {
    var rate: Double
    var durationSeconds: Double
    /// Most deliveries outstanding (expected minus received) before the publisher waits.
    var maxOutstandingDeliveries: Int
    var padding: String
    /// Audience of event number `sequence`.
    var audience: @Sendable (Int) -> Audience
    /// Deliveries an event to this audience, sent now, should produce.
    var recipientsNow: @Sendable (Audience) -> Int
}

/// Publishes over a few keep-alive HTTP/1.1 connections, one request in flight on each, at a
/// fixed rate (or as fast as the outstanding-deliveries window allows). All its state lives on
/// one event loop, so it needs no locks.
final class Publisher: @unchecked Sendable {  // @unchecked: every `var` is used on `loop` only (see above)
    private let loop: EventLoop
    private let target: ServerTarget
    private let stats: DeliveryStats
    private let headers: HTTPHeaders
    private var idle: [PublishConnectionHandler] = []
    private var inFlight = 0
    private var sequence = 0
    private var startNanos: UInt64 = 0
    private var plan: PublishPlan!
    private var summary = PublishSummary()
    private var finished: EventLoopPromise<PublishSummary>!
    private var ticker: RepeatedTask?
    private var stoppedSending = false

    init(loop: EventLoop, target: ServerTarget, stats: DeliveryStats) {
        self.loop = loop
        self.target = target
        self.stats = stats
        self.headers = target.publishHeaders()
    }

    /// Opens the publishing connections. Blocks; call from outside the group.
    func connect(count: Int) throws {
        for _ in 0..<count {
            let handler = try openConnection().wait()
            try loop.submit { self.idle.append(handler) }.wait()
        }
    }

    private func openConnection() -> EventLoopFuture<PublishConnectionHandler> {
        let address: SocketAddress
        do { address = try SocketAddress(ipAddress: target.host, port: target.port) } catch { return loop.makeFailedFuture(error) }
        let handler = PublishConnectionHandler(publisher: self)
        return ClientBootstrap(group: loop)
            .connectTimeout(.seconds(10))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.pipeline.addHTTPClientHandlers().flatMap { channel.pipeline.addHandler(handler) }
            }
            .connect(to: address)
            .map { channel in
                handler.channel = channel
                return handler
            }
    }

    /// Publishes per `plan`; the future completes when sending stopped and every response is in.
    func run(_ plan: PublishPlan) -> EventLoopFuture<PublishSummary> {
        loop.flatSubmit {
            self.plan = plan
            self.finished = self.loop.makePromise()
            self.startNanos = realtimeNanos()
            // A 1 ms tick paces a fixed rate; responses also pump, so a saturating run never idles.
            self.ticker = self.loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(1)) { _ in self.pump() }
            return self.finished.futureResult
        }
    }

    func closeAll() {
        let channels = (try? loop.submit { () -> [Channel] in
            self.stoppedSending = true
            return self.idle.compactMap { $0.channel }
        }.wait()) ?? []
        for channel in channels { _ = try? channel.close().wait() }
    }

    private func pump() {
        guard !stoppedSending else { return }
        let now = realtimeNanos()
        let elapsed = Double(now - startNanos) / 1e9
        if elapsed >= plan.durationSeconds {
            stoppedSending = true
            ticker?.cancel()
            finishIfDone()
            return
        }
        let due = plan.rate > 0 ? Int(elapsed * plan.rate) + 1 : Int.max
        while sequence < due, let connection = idle.popLast() {
            let outstanding = summary.expectedDeliveries - stats.received.load(ordering: .relaxed)
            if outstanding >= plan.maxOutstandingDeliveries {
                idle.append(connection)
                break
            }
            send(on: connection)
        }
    }

    private func send(on connection: PublishConnectionHandler) {
        let audience = plan.audience(sequence)
        let sentAt = realtimeNanos()
        if summary.firstSendNanos == 0 { summary.firstSendNanos = sentAt }
        summary.lastSendNanos = sentAt
        let body = target.publishBody(for: audience, sequence: sequence, sentAtNanos: sentAt, padding: plan.padding)
        let recipients = plan.recipientsNow(audience)
        summary.expectedDeliveries += recipients
        sequence += 1
        inFlight += 1
        connection.send(uri: target.publishURI(for: audience), headers: headers, body: body, recipients: recipients)
    }

    /// Called by a connection on this loop when its response ended.
    func responseEnded(connection: PublishConnectionHandler, status: HTTPResponseStatus, recipients: Int) {
        inFlight -= 1
        if (200..<300).contains(status.code) {
            summary.accepted += 1
        } else {
            summary.rejected += 1
            summary.expectedDeliveries -= recipients
            if summary.firstRejection == nil { summary.firstRejection = "HTTP \(status.code)" }
        }
        idle.append(connection)
        if stoppedSending { finishIfDone() } else { pump() }
    }

    /// Called when a publishing connection dies: its request will never be answered. Until
    /// publishing stops it is replaced: a server reload may close keep-alive connections, and a
    /// server at its connection limit closes connections that have not sent a request yet (the
    /// hostile scenario), even before the run starts. A server that refuses the new connection
    /// ends the run.
    func connectionLost(connection: PublishConnectionHandler, pendingRecipients: Int?, reason: String) {
        if let recipients = pendingRecipients {
            inFlight -= 1
            summary.rejected += 1
            summary.expectedDeliveries -= recipients
            if summary.firstRejection == nil { summary.firstRejection = reason }
        }
        idle.removeAll { $0 === connection }
        guard !stoppedSending else {
            finishIfDone()
            return
        }
        summary.reconnects += 1
        inFlight += 1  // the replacement counts as busy until it is open
        openConnection().whenComplete { result in
            self.inFlight -= 1
            switch result {
            case .success(let replacement):
                self.idle.append(replacement)
                if self.finished != nil { self.pump() }   // not before the run has a plan
            case .failure(let error):
                if self.summary.firstRejection == nil { self.summary.firstRejection = "cannot reconnect a publisher: \(error)" }
                if self.idle.isEmpty && self.inFlight == 0 {
                    self.stoppedSending = true
                    self.ticker?.cancel()
                }
                if self.stoppedSending { self.finishIfDone() }
            }
        }
    }

    private func finishIfDone() {
        guard inFlight == 0, let finished else { return }
        self.finished = nil
        finished.succeed(summary)
    }
}

/// One keep-alive publishing connection with at most one request in flight.
// @unchecked: state used on the publisher's loop only (its connections all live on that loop).
final class PublishConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private unowned let publisher: Publisher
    var channel: Channel?
    private var context: ChannelHandlerContext?
    private var pendingRecipients: Int?
    private var status: HTTPResponseStatus = .ok

    init(publisher: Publisher) {
        self.publisher = publisher
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func send(uri: String, headers: HTTPHeaders, body: String, recipients: Int) {
        guard let context else { return }
        pendingRecipients = recipients
        var requestHeaders = headers
        requestHeaders.add(name: "Content-Length", value: String(body.utf8.count))
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: uri, headers: requestHeaders)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = head.status
        case .body:
            break
        case .end:
            guard let recipients = pendingRecipients else { return }
            pendingRecipients = nil
            publisher.responseEnded(connection: self, status: status, recipients: recipients)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let pending = pendingRecipients
        pendingRecipients = nil
        self.context = nil
        publisher.connectionLost(connection: self, pendingRecipients: pending, reason: "publish connection closed by the server")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
