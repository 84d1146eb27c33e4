import GatewayCore
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// Reads one HTTP request at a time and answers it before reading the next: while an answer is
/// not yet handed to the socket, the connection is not read (backpressure), so a client that
/// pipelines requests and never reads costs one answer, one open file at most, and a bounded
/// queue of already-decoded requests — not an answer per request. Enforces the body limit while
/// reading and hands the complete request to the API routes.
///
/// Lives on its channel's event loop only.
final class HTTPRequestHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Pipelined requests decoded from bytes already read while an answer is in flight, and
    /// requests in one read beyond the first. Honest clients rarely pipeline at all; past this,
    /// the connection is closed at once.
    static let maxQueuedRequests = 16
    private var requestsInThisRead = 0

    private let api: HTTPAPI
    private let setup: ConnectionSetup
    private let logger: Logger
    private let deadlines: ConnectionDeadlines
    private var head: HTTPRequestHead?
    /// The request's path and query, parsed once at the head and used by every later step.
    private var target: RequestTarget?
    private var body: ByteBuffer?
    private var rejected = false
    private var streaming: StreamingRequestBody?

    /// An answer is being computed or written: requests that arrive meanwhile wait in `queued`
    /// and the socket is not read.
    private var answering = false
    private var queued = CircularBuffer<HTTPServerRequestPart>()
    private var queuedHeads = 0
    private var queuedBodyBytes = 0
    private var readPending = false
    /// Set when the connection will close after the current answer (error, `Connection: close`,
    /// too deep a pipeline): nothing more is read or answered.
    private var closing = false

    init(api: HTTPAPI, setup: ConnectionSetup, deadlines: ConnectionDeadlines, logger: Logger) {
        self.api = api
        self.setup = setup
        self.logger = logger
        self.deadlines = deadlines
    }

    // MARK: Inbound: one request at a time

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if closing { return }
        if case .head = part { requestsInThisRead += 1 }
        // Answers the kernel takes at once complete at once, so a non-reading client's pipelined
        // requests would each be answered until its socket buffers (megabytes on loopback) are
        // full; counting the requests of one read bounds that work however fast answers leave.
        guard requestsInThisRead <= Self.maxQueuedRequests + 1 else {
            tooDeepAPipeline(context: context)
            return
        }
        if answering || !queued.isEmpty {
            if !enqueue(part) { tooDeepAPipeline(context: context) }
            return
        }
        process(part, context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        requestsInThisRead = 0
        context.fireChannelReadComplete()
    }

    /// Closes now, dropping any answer under way. Closing also stops the HTTP decoder, which
    /// would otherwise parse every request left in the bytes already read (~1,600 heads in a
    /// 64 KiB read of `GET /metrics`) only for them to be dropped: an attacker reconnecting
    /// hundreds of times a second made that the honest clients' latency (bench/RESULTS.md).
    private func tooDeepAPipeline(context: ChannelHandlerContext) {
        closing = true
        queued.removeAll()
        context.close(promise: nil)
    }

    /// Queues a part that arrived while an answer is in flight; false when the pipeline is too
    /// deep (more than `maxQueuedRequests` requests or a body's worth of bytes waiting).
    private func enqueue(_ part: HTTPServerRequestPart) -> Bool {
        switch part {
        case .head: queuedHeads += 1
        case .body(let chunk): queuedBodyBytes += chunk.readableBytes
        case .end: break
        }
        guard queuedHeads <= Self.maxQueuedRequests, queuedBodyBytes <= api.maxBodyBytes else { return false }
        queued.append(part)
        return true
    }

    private func process(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            self.head = head
            let target = RequestTarget(head.uri)
            self.target = target
            body = nil
            rejected = false
            deadlines.headReceived(expectsBody: Self.expectsBody(head))
            if let refusal = Self.refuseMethod(head.method) {
                rejected = true
                answering = true
                closing = true
                deadlines.answerAndClose(.error(refusal, headers: ["Allow": "GET, HEAD, POST"]))
                return
            }
            switch api.bodyHandling(for: head, target: target, channel: context.channel) {
            case .buffered:
                let limit = api.maxBodyBytes
                if let length = head.headers.first(name: "Content-Length").flatMap(Int.init), length > limit {
                    reject(context: context, head: head, .error(.tooLarge(limit)))
                }
            case .streaming(let receiver):
                streaming = receiver
            case .reject(let response):
                reject(context: context, head: head, response)
            }
        case .body(var chunk):
            guard let head, !rejected else { return }
            if let streaming {
                streaming.receive(chunk)
                return
            }
            let limit = api.maxBodyBytes
            if (body?.readableBytes ?? 0) + chunk.readableBytes > limit {
                reject(context: context, head: head, .error(.tooLarge(limit)))
                return
            }
            if body == nil { body = chunk } else { body!.writeBuffer(&chunk) }
        case .end:
            guard let head, !rejected else { return }
            answering = true
            deadlines.requestComplete()
            if let receiver = streaming {
                streaming = nil
                self.head = nil
                // Completes on this loop (hop: whatever loop the receiver used), where `context` lives.
                receiver.finish().hop(to: context.eventLoop).assumeIsolated().whenComplete { result in
                    switch result {
                    case .success(let response):
                        self.respond(context: context, head: head, response, close: !head.isKeepAlive || response.status.code >= 400)
                    case .failure(let error):
                        self.logger.error("upload failed", metadata: ["error": "\(error)"])
                        self.respond(context: context, head: head, .error(GatewayError(code: "http.internal", message: "The upload failed; see the gateway log.", status: 500)), close: true)
                    }
                }
                return
            }
            let request = APIRequest(head: head, body: body ?? ByteBuffer(), refusedUpgrade: setup.refusal,
                                     target: target ?? RequestTarget(head.uri))
            self.head = nil
            body = nil
            let answer: EventLoopFuture<HTTPResponse>
            switch api.handle(request, eventLoop: context.eventLoop) {
            case .ready(let response):
                respond(context: context, head: head, response, close: !head.isKeepAlive)
                return
            case .later(let future):
                answer = future
            }
            answer.hop(to: context.eventLoop).assumeIsolated().whenComplete { result in
                let response: HTTPResponse
                switch result {
                case .success(let answer): response = answer
                case .failure(let error):
                    self.logger.error("request failed", metadata: ["error": "\(error)"])
                    response = .error(GatewayError(code: "http.internal", message: "The gateway failed to answer; see its log.", status: 500))
                }
                self.respond(context: context, head: head, response, close: !head.isKeepAlive)
            }
        }
    }

    /// Answers before the body is read (401, 405, 413 …) and closes: the rest of the request is
    /// never read.
    private func reject(context: ChannelHandlerContext, head: HTTPRequestHead, _ response: HTTPResponse) {
        rejected = true
        answering = true
        deadlines.requestComplete()
        respond(context: context, head: head, response, close: true)
    }

    /// CONNECT and TRACE, and methods HTTP does not define, are answered 405 without routing, and
    /// the connection closes: after a CONNECT head the decoder stops parsing (it expects a tunnel).
    static func refuseMethod(_ method: HTTPMethod) -> GatewayError? {
        switch method {
        case .GET, .HEAD, .POST, .PUT, .DELETE, .PATCH, .OPTIONS: return nil
        default: return .methodNotAllowed(method, "this gateway")
        }
    }

    static func expectsBody(_ head: HTTPRequestHead) -> Bool {
        if let length = head.headers.first(name: "Content-Length").flatMap(Int.init) { return length > 0 }
        return head.headers.contains(name: "Transfer-Encoding")
    }

    // MARK: Outbound: one answer in flight

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead, _ response: HTTPResponse, close: Bool) {
        let close = close || closing || drainRequested
        closing = closing || close
        let written: EventLoopFuture<Void>
        if let bytes = response.wireBytes(version: head.version, closing: close, includeBody: head.method != .HEAD,
                                           allocator: context.channel.allocator) {
            let promise = context.eventLoop.makePromise(of: Void.self)
            let size = bytes.readableBytes
            deadlines.writeBelowCodec(bytes, promise: promise)
            written = promise.futureResult
            deadlines.responding(queuedAtMost: size)
        } else {
            written = writeThroughCodec(context: context, head: head, response, close: close)
            deadlines.responding(queuedAtMost: nil)
        }
        written.assumeIsolated().whenComplete { result in
            if close || (try? result.get()) == nil {
                context.close(promise: nil)
                return
            }
            self.answered(context: context)
        }
    }

    /// A file body or a bodyless status: head, body and end through NIO's encoder.
    private func writeThroughCodec(context: ChannelHandlerContext, head: HTTPRequestHead, _ response: HTTPResponse,
                                   close: Bool) -> EventLoopFuture<Void> {
        var headers = response.headers
        if close { headers.replaceOrAdd(name: "Connection", value: "close") }
        let responseHead = HTTPResponseHead(version: head.version, status: response.status, headers: headers)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        if head.method != .HEAD {
            if let file = response.file {
                writeFile(file, context: context)
            } else if !response.body.isEmpty {
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
            }
        }
        return context.writeAndFlush(wrapOutboundOut(.end(nil)))
    }

    /// The answer is in the socket: take the next queued request, or read again.
    private func answered(context: ChannelHandlerContext) {
        answering = false
        deadlines.responseWritten()
        while !answering, !closing, let part = queued.popFirst() {
            switch part {
            case .head: queuedHeads -= 1
            case .body(let chunk): queuedBodyBytes -= chunk.readableBytes
            case .end: break
            }
            process(part, context: context)
        }
        if !answering && closing {
            context.close(promise: nil)
            return
        }
        if !answering && readPending {
            readPending = false
            context.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if answering || !queued.isEmpty || closing {
            readPending = true
        } else {
            context.read()
        }
    }

    /// sendfile(2) through a FileRegion: large attachments never pass through user-space buffers.
    /// The file is open only while this one answer is in flight.
    private func writeFile(_ file: HTTPResponse.FileBody, context: ChannelHandlerContext) {
        guard file.length > 0 else { return }
        do {
            let handle = try NIOFileHandle(_deprecatedPath: file.path)
            let region = FileRegion(fileHandle: handle, readerIndex: Int(file.offset), endIndex: Int(file.offset + file.length))
            context.write(wrapOutboundOut(.body(.fileRegion(region)))).whenComplete { _ in try? handle.close() }
        } catch {
            logger.error("cannot open a stored file", metadata: ["path": "\(file.path)", "error": "\(error)"])
            context.close(promise: nil)
        }
    }

    /// The drain (SIGTERM): an idle connection closes now; one with a request under way answers
    /// it (with `Connection: close`) and then closes.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        if head == nil && !answering && streaming == nil && queued.isEmpty {
            closing = true
            context.close(promise: nil)
        } else {
            // Keep reading: the rest of the request's body must still arrive.
            drainRequested = true
        }
    }

    /// Set by the drain while a request is under way: its answer closes the connection.
    private var drainRequested = false

    func channelInactive(context: ChannelHandlerContext) {
        streaming?.abort()
        streaming = nil
        queued.removeAll()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A refused WebSocket upgrade is reported here first; the request itself then arrives as
        // plain HTTP and gets its 401/404 answer from the routes.
        if error is NIOWebSocketUpgradeError { return }
        logger.debug("http connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}
