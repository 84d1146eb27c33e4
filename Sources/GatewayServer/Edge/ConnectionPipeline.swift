import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket

/// How an accepted connection is set up: admission (connection limits), TLS when configured, its
/// clocks, the HTTP codec and the WebSocket upgrade. Everything a hostile client meets first is here.
struct ConnectionPipeline: Sendable {
    /// nil: plain HTTP and ws. Otherwise every connection is TLS (HTTPS and wss).
    let tls: TLSCertificates?
    let http: HTTPAPI
    let webSocket: WebSocketEndpoint
    let admission: ConnectionAdmission
    let limits: ConnectionDeadlines.Limits
    let metrics: GatewayMetrics
    let logger: Logger

    /// The listening socket: out of file descriptors, accepting pauses instead of spinning
    /// (AcceptAtFileLimit says why NIO's AcceptBackoffHandler does not stop the spin).
    func configureListener(_ channel: Channel) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(
                AcceptAtFileLimit(admission: admission, metrics: metrics, logger: logger))
        }
    }

    func configure(_ channel: Channel) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            guard let ticket = admission.admit(channel) else {
                // Closed as soon as it is registered (closing it from the initializer, before
                // registration, leaves the socket open).
                metrics.connectionsRefused.increment()
                try channel.pipeline.syncOperations.addHandler(CloseWhenActive())
                return
            }
            let operations = channel.pipeline.syncOperations
            if let tls {
                // The connection keeps the context it starts with, across a SIGHUP reload.
                try operations.addHandler(PlainHTTPOnTLSPort())
                try operations.addHandler(NIOSSLServerHandler(context: tls.current))
            }
            let deadlines = ConnectionDeadlines(limits: limits, ticket: ticket)
            try operations.addHandler(deadlines)
            let setup = ConnectionSetup()
            let upgrader = webSocket.makeUpgrader(setup: setup)
            let httpHandler = HTTPRequestHandler(api: http, setup: setup, deadlines: deadlines, logger: logger)
            // The upgrade completes on this channel's loop, where the handlers live.
            let upgradedHandlers = NIOLoopBound((deadlines, httpHandler), eventLoop: channel.eventLoop)
            // NIO's configureHTTPServerPipeline, by hand, with one difference: the decoder is not
            // paired with the encoder. A paired decoder queues each request's method in the
            // encoder, and each encoded response head takes one off; HTTPRequestHandler writes
            // most answers as ready bytes below the encoder (HTTPResponse+Wire.swift), so a
            // paired encoder would frame a later answer with an earlier request's method.
            // Unpaired, the encoder needs no method: HTTPRequestHandler writes no body to HEAD and
            // answers CONNECT below the codec (ConnectionDeadlines.answerAndClose).
            let encoder = HTTPResponseEncoder()
            let decoder = ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes))
            let httpHandlers: [RemovableChannelHandler] = [decoder, NIOHTTPResponseHeadersValidator(), HTTPServerProtocolErrorHandler()]
            let upgrade = HTTPServerUpgradeHandler(upgraders: [upgrader], httpEncoder: encoder, extraHTTPHandlers: httpHandlers) { upgradeContext in
                let (deadlines, httpHandler) = upgradedHandlers.value
                deadlines.upgraded()
                upgradeContext.pipeline.syncOperations.removeHandler(httpHandler, promise: nil)
                upgradeContext.pipeline.syncOperations.removeHandler(deadlines, promise: nil)
            }
            try operations.addHandlers([encoder] + httpHandlers + [upgrade])
            try operations.addHandler(httpHandler)
        }
    }
}

/// The whole pipeline of a connection refused by the limits.
final class CloseWhenActive: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    func channelActive(context: ChannelHandlerContext) { context.close(promise: nil) }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}
