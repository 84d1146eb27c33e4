import GatewayCore
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// Reads one HTTP request at a time (the pipelining assistant orders them), enforces the body
/// limit while reading, and hands the complete request to the API routes.
final class HTTPRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let api: HTTPAPI
    private let setup: ConnectionSetup
    private let logger: Logger
    private var head: HTTPRequestHead?
    /// The request's path and query, parsed once at the head and used by every later step.
    private var target: RequestTarget?
    private var body: ByteBuffer?
    private var rejected = false
    private var streaming: StreamingRequestBody?

    init(api: HTTPAPI, setup: ConnectionSetup, logger: Logger) {
        self.api = api
        self.setup = setup
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            let target = RequestTarget(head.uri)
            self.target = target
            body = nil
            rejected = false
            switch api.bodyHandling(for: head, target: target, channel: context.channel) {
            case .buffered:
                let limit = api.maxBodyBytes
                if let length = head.headers.first(name: "Content-Length").flatMap(Int.init), length > limit {
                    rejected = true
                    respond(context: context, head: head, .error(.tooLarge(limit)), close: true)
                }
            case .streaming(let receiver):
                streaming = receiver
            case .reject(let response):
                rejected = true
                respond(context: context, head: head, response, close: true)
            }
        case .body(var chunk):
            guard let head, !rejected else { return }
            if let streaming {
                streaming.receive(chunk)
                return
            }
            let limit = api.maxBodyBytes
            if (body?.readableBytes ?? 0) + chunk.readableBytes > limit {
                rejected = true
                respond(context: context, head: head, .error(.tooLarge(limit)), close: true)
                return
            }
            if body == nil { body = chunk } else { body!.writeBuffer(&chunk) }
        case .end:
            guard let head, !rejected else { return }
            if let receiver = streaming {
                streaming = nil
                self.head = nil
                receiver.finish().whenComplete { result in
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
            let loop = context.eventLoop
            api.handle(request, eventLoop: loop).whenComplete { result in
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

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead, _ response: HTTPResponse, close: Bool) {
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
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if close {
            written.whenComplete { _ in context.close(promise: nil) }
        }
    }

    /// sendfile(2) through a FileRegion: large attachments never pass through user-space buffers.
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

    func channelInactive(context: ChannelHandlerContext) {
        streaming?.abort()
        streaming = nil
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
