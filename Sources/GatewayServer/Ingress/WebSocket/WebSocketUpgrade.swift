import GatewayAuth
import GatewayCore
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// Per-connection facts decided during the HTTP upgrade: who the client is, or why it was refused.
/// The refusal is answered as a plain HTTP 401/404 by the HTTP handler, before any upgrade.
final class ConnectionSetup: @unchecked Sendable {
    var refusal: GatewayError?
    var accepted: (identity: Identity, host: String, resumeAfter: Int64?)?
}

enum WebSocketUpgrade {
    static let paths: Set<String> = ["/ws", "/ws/chat"]

    static func makeUpgrader(server: ServerContext, setup: ConnectionSetup) -> NIOWebSocketServerUpgrader {
        let maxMessage = server.config.server.maxMessageBytes
        return NIOWebSocketServerUpgrader(
            maxFrameSize: max(maxMessage, 125),
            automaticErrorHandling: true,
            shouldUpgrade: { channel, head in
                channel.eventLoop.makeSucceededFuture(decide(head, server: server, setup: setup))
            },
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    guard let accepted = setup.accepted else { throw NIOWebSocketUpgradeError.unsupportedWebSocketTarget }
                    let operations = channel.pipeline.syncOperations
                    try operations.addHandler(NIOWebSocketFrameAggregator(
                        minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 4096, maxAccumulatedFrameSize: maxMessage))
                    try operations.addHandler(ClientConnection(identity: accepted.identity, host: accepted.host,
                                                               resumeAfter: accepted.resumeAfter, server: server))
                }
            })
    }

    /// nil refuses the upgrade (the request then reaches the HTTP routes, which answer the refusal).
    private static func decide(_ head: HTTPRequestHead, server: ServerContext, setup: ConnectionSetup) -> HTTPHeaders? {
        let target = RequestTarget(head.uri)
        guard paths.contains(target.path) else {
            setup.refusal = .notFound(target.path)
            return nil
        }
        let credentials = RequestCredentials(head: head, query: target.query)
        switch Authentication.identify(token: credentials.token, verifier: server.verifier, cache: server.tokenCache) {
        case .failure(let error):
            server.metrics.upgradesRefused.increment()
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
            let host = head.headers.first(name: "Origin") ?? server.config.server.defaultHost
            setup.accepted = (identity, host, resumeAfter)
            var headers = HTTPHeaders()
            if credentials.viaSubprotocol {
                headers.add(name: "Sec-WebSocket-Protocol", value: "accessToken")
            }
            return headers
        }
    }
}
