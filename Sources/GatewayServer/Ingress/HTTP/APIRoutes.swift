import Foundation
import GatewayAuth
import GatewayCore
import GatewayJSON
import GatewayStore
import NIOCore
import NIOHTTP1

struct APIRequest {
    let head: HTTPRequestHead
    let body: ByteBuffer
    /// Why a WebSocket upgrade on this connection was refused (answered as HTTP here).
    let refusedUpgrade: GatewayError?
    let target: RequestTarget

    init(head: HTTPRequestHead, target: RequestTarget, body: ByteBuffer, refusedUpgrade: GatewayError?) {
        self.head = head
        self.body = body
        self.refusedUpgrade = refusedUpgrade
        self.target = target
    }
}

/// The HTTP API: POST /api/v1/events, GET /api/v1/notifications, GET /api/v1/context,
/// GET /healthz, GET /metrics (and the WebSocket paths when no upgrade happened).
enum APIRoutes {
    static func bodyLimit(for head: HTTPRequestHead, config: GatewayConfig) -> Int {
        config.server.maxEventBytes
    }

    static func bodyHandling(for head: HTTPRequestHead, target: RequestTarget, server: ServerContext, channel: Channel) -> BodyHandling {
        if head.method == .POST && target.path == AttachmentRoutes.uploadPath {
            return AttachmentRoutes.beginUpload(head: head, target: target, server: server, channel: channel)
        }
        return .buffered
    }

    static func handle(_ request: APIRequest, server: ServerContext, eventLoop: EventLoop) -> EventLoopFuture<HTTPResponse> {
        let path = request.target.path
        let method = request.head.method
        func only(_ allowed: HTTPMethod, _ answer: () -> EventLoopFuture<HTTPResponse>) -> EventLoopFuture<HTTPResponse> {
            guard method == allowed || (allowed == .GET && method == .HEAD) else {
                return eventLoop.makeSucceededFuture(.error(.methodNotAllowed(method, path)))
            }
            return answer()
        }
        switch path {
        case "/healthz":
            return only(.GET) { eventLoop.makeSucceededFuture(health(server)) }
        case "/metrics":
            return only(.GET) {
                var text: [UInt8] = []
                server.metrics.registry.emit(into: &text)
                return eventLoop.makeSucceededFuture(HTTPResponse(status: .ok, contentType: "text/plain; version=0.0.4", body: text))
            }
        case "/api/v1/events":
            return only(.POST) { eventLoop.makeSucceededFuture(publish(request, server: server)) }
        case "/api/v1/context":
            return only(.GET) { eventLoop.makeSucceededFuture(context(request, server: server)) }
        case "/api/v1/notifications":
            return only(.GET) { notifications(request, server: server, eventLoop: eventLoop) }
        case "/ws", "/ws/chat":
            if let refusal = request.refusedUpgrade {
                return eventLoop.makeSucceededFuture(.error(refusal))
            }
            return eventLoop.makeSucceededFuture(.error(GatewayError(
                code: "http.upgrade_required", message: "\(path) is a WebSocket endpoint: connect with a WebSocket client.", status: 426)))
        default:
            if path.hasPrefix(AttachmentRoutes.uploadPath + "/") {
                return only(.GET) { AttachmentRoutes.serve(request, server: server, eventLoop: eventLoop) }
            }
            return eventLoop.makeSucceededFuture(.error(.notFound(path)))
        }
    }

    // MARK: Authentication

    static func authenticate(_ request: APIRequest, server: ServerContext) -> Result<Identity, GatewayError> {
        let credentials = RequestCredentials(head: request.head, query: request.target.query)
        return Authentication.identify(token: credentials.token, verifier: server.verifier, cache: server.tokenCache)
    }

    static func host(of request: APIRequest, server: ServerContext) -> String {
        request.target.query["host"] ?? request.head.headers.first(name: "Origin") ?? server.config.server.defaultHost
    }

    // MARK: Endpoints

    static func health(_ server: ServerContext) -> HTTPResponse {
        let body = JSON.object()
        body.set("status", "ok")
        body.set("connections", .integer(server.fanOut.connectionCount))
        body.set("plugins", .strings(server.chain.current.plugins.map(\.name)))
        return .json(.ok, body)
    }

    static func publish(_ request: APIRequest, server: ServerContext) -> HTTPResponse {
        let identity: Identity
        switch authenticate(request, server: server) {
        case .success(let value): identity = value
        case .failure(let error): return .error(error)
        }
        guard identity.canPublish else { return .error(.publishForbidden) }
        let input: JSON
        do {
            input = try request.body.readableBytesView.withContiguousStorageIfAvailable { try JSON.parse(UnsafeRawBufferPointer($0)) }
                ?? JSON.parse(Array(request.body.readableBytesView))
        } catch {
            return .error(.invalidEvent("invalid_json", "The body is not valid JSON: \(error)"))
        }
        do throws(GatewayError) {
            let publisher = Publisher(id: identity.id, title: identity.title, principals: identity.principals)
            let id = try server.router.publish(input.view, from: publisher, ingress: "http",
                                               hostFallback: request.head.headers.first(name: "Origin"))
            let body = JSON.object()
            body.set("id", .integer(Int(id)))
            return .json(.accepted, body)
        } catch {
            return .error(error)
        }
    }

    /// pyams_chat's get_chat_context: who the caller is and which categories the chain handles.
    static func context(_ request: APIRequest, server: ServerContext) -> HTTPResponse {
        let identity: Identity
        switch authenticate(request, server: server) {
        case .success(let value): identity = value
        case .failure(let error): return .error(error)
        }
        let principal = JSON.object()
        principal.set("id", identity.id)
        principal.set("title", identity.title.map { JSON.string($0) } ?? .null())
        principal.set("principals", .strings(identity.principals))
        let categories = server.chain.current.plugins.flatMap { $0.categories ?? [] }
        let context = JSON.object()
        context.set("*", .strings(categories))
        let body = JSON.object()
        body.set("status", "success")
        body.set("principal", principal)
        body.set("context", context)
        body.set("can_publish", .bool(identity.canPublish))
        return .json(.ok, body)
    }

    /// pyams_chat's get_notifications: the caller's history, newest first, without what it sent.
    /// `since` is an ISO 8601 timestamp or an event id.
    static func notifications(_ request: APIRequest, server: ServerContext, eventLoop: EventLoop) -> EventLoopFuture<HTTPResponse> {
        let identity: Identity
        switch authenticate(request, server: server) {
        case .success(let value): identity = value
        case .failure(let error): return eventLoop.makeSucceededFuture(.error(error))
        }
        guard let history = server.history else {
            return eventLoop.makeSucceededFuture(.error(GatewayError(code: "history.disabled", message: "History is not configured.", status: 404)))
        }
        let since = request.target.query["since"]
        if let since, !since.isEmpty, Int64(since) == nil, !ISOTimestamp.isValid(since) {
            return eventLoop.makeSucceededFuture(.error(GatewayError(
                code: "request.bad_since", message: "'since' must be an ISO 8601 timestamp or an event id.", status: 400)))
        }
        let host = host(of: request, server: server)
        let limit = server.config.history.perRecipient
        let recipient = Recipient(id: identity.id, principals: identity.principals, host: host)
        let chain = server.chain.current
        return server.blockingPool.runIfActive(eventLoop: eventLoop) { () throws -> HTTPResponse in
            history.flush()
            let events: [StoredEvent]
            if let since, let sinceId = Int64(since) {
                events = try history.after(id: sinceId, principals: identity.principals, host: host,
                                           excludingSender: identity.id, limit: limit).reversed()
            } else {
                events = try history.recent(principals: identity.principals, host: host, excludingSender: identity.id,
                                            sinceTimestamp: (since?.isEmpty ?? true) ? nil : since, limit: limit)
            }
            let list = JSON.array()
            for stored in events {
                guard let event = try? JSON.parse(stored.payload) else { continue }
                if chain.hasRecipientFilters {
                    switch chain.filter(event.view, for: recipient) {
                    case .deliver: list.append(event)
                    case .drop: continue
                    case .redacted(let copy): list.append(copy)
                    }
                } else {
                    list.append(event)
                }
            }
            let body = JSON.object()
            body.set("timestamp", ISOTimestamp.now())
            body.set("notifications", list)
            return .json(.ok, body)
        }
    }
}

/// Token → identity, with the error a client sees when it has none or a bad one.
enum Authentication {
    static func identify(token: String?, verifier: TokenVerifier, cache: VerifiedTokenCache? = nil) -> Result<Identity, GatewayError> {
        guard let token, !token.isEmpty else {
            return .failure(.unauthorized("auth.missing_token",
                                          "No token: send 'Authorization: Bearer <jwt>', the 'accessToken, <jwt>' subprotocol, or ?token=<jwt>."))
        }
        let now = Int(Date().timeIntervalSince1970)
        if let known = cache?.identity(for: token, now: now) { return .success(known) }
        switch verifier.verify(token, now: now) {
        case .success(let identity):
            cache?.remember(token, as: identity)
            return .success(identity)
        case .failure(let error): return .failure(.unauthorized(error.code, error.message))
        }
    }
}
