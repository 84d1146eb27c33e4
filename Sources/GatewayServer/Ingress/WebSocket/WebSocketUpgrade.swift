import GatewayAuth
import GatewayCore
import GatewayJSON
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// Per-connection facts decided during the HTTP upgrade: who the client is, or why it was refused.
/// The refusal is answered as a plain HTTP 401/404 by the HTTP handler, before any upgrade.
final class ConnectionSetup: @unchecked Sendable {  // written and read on the connection's event loop only
    var refusal: GatewayError?
    /// An authentication failure answered the pyams_chat_ws way: upgrade, logout frame, close.
    var logout: GatewayError?
    /// Already registered with the fan-out; its handlers join the pipeline after the 101.
    var accepted: (connection: ClientConnection, identity: Identity, host: String, resumeAfter: Int64?)?
}

/// GET /ws and /ws/chat: authenticates the upgrade and registers the connection with the fan-out
/// before the 101 is written (NIO writes the 101 first and builds the pipeline after: a client
/// that publishes as soon as it sees the 101 must still get the event, which waits in the
/// connection until its handlers are added). Then builds the connection's handlers —
/// ClientFrameReader (reads) and ClientConnection (writes) — and starts the replay of missed events.
struct WebSocketEndpoint: Sendable {
    static let paths: Set<String> = ["/ws", "/ws/chat"]

    let authenticator: Authenticator
    let pipeline: EventPipeline
    let rooms: RoomSignals
    let fanOut: FanOut
    let replay: HistoryReplay
    /// The host a connection belongs to (from its Origin, within what its token may use).
    let hosts: HostPolicy
    let reader: ClientFrameReader.Settings
    let writer: ClientConnection.Settings
    let metrics: GatewayMetrics
    let logger: Logger
    /// Paths whose authentication failures upgrade and send pyams_chat's logout frame instead of
    /// answering HTTP 401 (`[server] auth_failure_logout_paths`).
    var logoutPaths: Set<String> = ["/ws/chat"]

    func makeUpgrader(setup: ConnectionSetup) -> NIOWebSocketServerUpgrader {
        let maxMessage = reader.maxMessageBytes
        return NIOWebSocketServerUpgrader(
            maxFrameSize: max(maxMessage, 125),
            automaticErrorHandling: true,
            shouldUpgrade: { channel, head in
                decide(head, setup: setup, channel: channel)
            },
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    if let refusal = setup.logout {
                        try channel.pipeline.syncOperations.addHandler(LogoutAndClose(refusal: refusal))
                        return
                    }
                    guard let accepted = setup.accepted else { throw NIOWebSocketUpgradeError.unsupportedWebSocketTarget }
                    try addHandlers(accepted.connection, to: channel, identity: accepted.identity, host: accepted.host,
                                    resumeAfter: accepted.resumeAfter)
                }
            })
    }

    private func addHandlers(_ connection: ClientConnection, to channel: Channel, identity: Identity, host: String,
                             resumeAfter: Int64?) throws {
        let operations = channel.pipeline.syncOperations
        try operations.addHandler(WebSocketFrameRules())
        try operations.addHandler(NIOWebSocketFrameAggregator(
            minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 4096, maxAccumulatedFrameSize: reader.maxMessageBytes))
        try operations.addHandler(ClientFrameReader(
            connection: connection, client: ClientProtocol(identity: identity, host: host, pipeline: pipeline, rooms: rooms, hosts: hosts), settings: reader))
        try operations.addHandler(connection)
        if let resumeAfter { replay.run(connection, after: resumeAfter, on: channel.eventLoop) }
    }

    /// nil refuses the upgrade (the request then reaches the HTTP routes, which answer the refusal).
    /// Completes on the connection's loop: with a context service, after its answer.
    private func decide(_ head: HTTPRequestHead, setup: ConnectionSetup, channel: Channel) -> EventLoopFuture<HTTPHeaders?> {
        let eventLoop = channel.eventLoop
        let target = RequestTarget(head.uri)
        guard Self.paths.contains(target.path) else {
            setup.refusal = .notFound(target.path)
            return eventLoop.makeSucceededFuture(nil)
        }
        if let problem = WebSocketHandshakeCheck.problem(head) {
            setup.refusal = problem
            return eventLoop.makeSucceededFuture(nil)
        }
        let credentials = RequestCredentials(head: head, query: target.query)
        return authenticator.identify(token: credentials.token, on: eventLoop).map { caller in
            decide(head, target: target, credentials: credentials, caller: caller, setup: setup, channel: channel)
        }
    }

    private func decide(_ head: HTTPRequestHead, target: RequestTarget, credentials: RequestCredentials,
                        caller: Result<Identity, GatewayError>, setup: ConnectionSetup, channel: Channel) -> HTTPHeaders? {
        switch caller {
        case .failure(let error):
            metrics.upgradesRefused.increment()
            // A refused token, or a token the context service refused, is a logout; a context
            // service that is down or slow is not the token's fault: 503 before the upgrade, and
            // the client retries with the same token.
            if logoutPaths.contains(target.path) && error.status == 401 {
                // pyams_chat's service worker refreshes its token only on this frame; an HTTP
                // 401 would make it reconnect forever with the expired one.
                setup.logout = error
                var headers = HTTPHeaders()
                if Self.offersAccessTokenProtocol(head) { headers.add(name: "Sec-WebSocket-Protocol", value: "accessToken") }
                return headers
            }
            setup.refusal = error
            return nil
        case .success(let identity):
            var resumeAfter: Int64?
            if let lastId = target.query["last_id"] {
                guard let value = Int64(lastId), value >= 0 else {
                    setup.refusal = GatewayError(code: "request.bad_last_id", message: "'last_id' must be a non-negative event id.", status: 400)
                    return nil
                }
                resumeAfter = value
            }
            let host: String
            switch hosts.resolve(explicit: nil, origin: head.headers.first(name: "Origin"), for: identity) {
            case .success(let value): host = value
            case .failure(let error):
                metrics.upgradesRefused.increment()
                setup.refusal = error
                return nil
            }
            let connection = ClientConnection(recipient: Recipient(id: identity.id, principals: identity.principals, host: host),
                                              replaying: resumeAfter != nil, settings: writer, metrics: metrics, logger: logger)
            // Unregistered when the channel closes, also if the upgrade fails after this.
            fanOut.register(connection, channel: channel)
            setup.accepted = (connection, identity, host, resumeAfter)
            var headers = HTTPHeaders()
            if credentials.viaSubprotocol {
                headers.add(name: "Sec-WebSocket-Protocol", value: "accessToken")
            }
            return headers
        }
    }

    /// A browser fails the connection unless the server selects one of the subprotocols it
    /// offered; pyams_chat offers "accessToken" (followed by the token, or by nothing).
    static func offersAccessTokenProtocol(_ head: HTTPRequestHead) -> Bool {
        head.headers[canonicalForm: "Sec-WebSocket-Protocol"].contains { (value: Substring) in String(value).trimmingSpaces() == "accessToken" }
    }
}

/// The pyams_chat_ws answer to a refused token: `{"action":"logout","status":"FORBIDDEN"}`
/// (plus the refusal's code), then a close frame 1008 whose reason is the code. The TCP
/// connection closes when the client answers the close, or after 5 s.
final class LogoutAndClose: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let refusal: GatewayError

    init(refusal: GatewayError) { self.refusal = refusal }

    func handlerAdded(context: ChannelHandlerContext) {
        let frame = JSON.object()
        frame.set("action", "logout")
        frame.set("status", "FORBIDDEN")
        frame.set("code", refusal.code)
        var text = context.channel.allocator.buffer(capacity: 96)
        text.writeBytes(frame.encoded())
        context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, data: text)), promise: nil)
        var close = context.channel.allocator.buffer(capacity: 2 + refusal.code.utf8.count)
        close.write(webSocketErrorCode: .policyViolation)
        close.writeString(refusal.code)
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: close)), promise: nil)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: .seconds(5)) { channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Whatever the client sends now (its close answer, most likely) ends the connection.
        if unwrapInboundIn(data).opcode == .connectionClose { context.close(promise: nil) }
    }
}
