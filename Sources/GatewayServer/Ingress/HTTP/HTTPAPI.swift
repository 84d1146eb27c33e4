import GatewayCore
import NIOCore
import NIOHTTP1

struct APIRequest {
    let head: HTTPRequestHead
    let body: ByteBuffer
    /// Why a WebSocket upgrade on this connection was refused (answered as HTTP here).
    let refusedUpgrade: GatewayError?
    let target: RequestTarget
}

/// The HTTP API, by path: POST /api/v1/events, GET /api/v1/notifications, GET /api/v1/context,
/// attachments, GET /healthz, GET /metrics (and the WebSocket paths when no upgrade happened);
/// the admin API (/api/v1/admin/*), the development login and the browser pages (/, /admin,
/// /ui/*). Each route is built once with what it needs.
struct HTTPAPI: Sendable {
    /// Resolves a caller's context principals (`[auth] context_url`) before a route identifies it.
    let authenticator: Authenticator
    let publish: PublishRoute
    let notifications: NotificationsRoute
    let context: ContextRoute
    let status: StatusRoutes
    let attachments: AttachmentRoutes
    let rooms: RoomRoutes
    /// Addresses, preferences, read marks, cancelling held events (offline delivery).
    let offline: OfflineRoutes
    let admin: AdminAPI
    /// GET /api/v1/plugins/<entry>/…: plugins' own endpoints (ABI 1.3 on_query).
    let pluginQueries: PluginQueryRoute
    let developmentLogin: DevelopmentLogin
    /// [server] max_event_bytes: the largest buffered request body.
    let maxBodyBytes: Int
    /// [server] metrics_access: whether GET /metrics needs an admin token.
    let metricsAccess: GatewayConfig.MetricsAccess

    func bodyHandling(for head: HTTPRequestHead, target: RequestTarget, channel: Channel) -> BodyHandling {
        if head.method == .POST && target.path == AttachmentRoutes.uploadPath {
            return attachments.beginUpload(head: head, target: target, channel: channel)
        }
        return .buffered
    }

    func handle(_ request: APIRequest, eventLoop: EventLoop) -> HTTPAnswer {
        // With a context service, the routes' synchronous identify needs its answer kept: ask
        // for it first (off the loop). Token errors are left to the route; only the context
        // service's failures are answered here.
        guard authenticator.context != nil, request.target.path.hasPrefix("/api/v1/") else {
            return route(request, eventLoop: eventLoop)
        }
        let token = RequestCredentials(head: request.head, query: request.target.query).token
        return .later(authenticator.identify(token: token, on: eventLoop).flatMap { caller in
            if case .failure(let error) = caller, error.code.hasPrefix(ContextFailure.codePrefix) {
                return eventLoop.makeSucceededFuture(.error(error))
            }
            return route(request, eventLoop: eventLoop).future(on: eventLoop)
        })
    }

    /// The metrics text, or 401/403 `metrics.forbidden` when `[server] metrics_access = "admin"`
    /// and the caller is no admin: the counters tell who is connected and how busy the node is.
    private func metrics(_ request: APIRequest) -> HTTPResponse {
        guard metricsAccess == .admin else { return status.metricsText() }
        switch authenticator.identify(head: request.head, query: request.target.query) {
        case .failure(let error): return .error(error)
        case .success(let identity) where !identity.isAdmin:
            return .error(GatewayError(code: "metrics.forbidden",
                                       message: "GET /metrics needs an admin token here ([server] metrics_access = \"admin\").", status: 403))
        case .success: return status.metricsText()
        }
    }

    private func route(_ request: APIRequest, eventLoop: EventLoop) -> HTTPAnswer {
        let path = request.target.path
        let method = request.head.method
        func only(_ allowed: HTTPMethod, _ answer: () -> HTTPAnswer) -> HTTPAnswer {
            guard method == allowed || (allowed == .GET && method == .HEAD) else {
                return .ready(.error(.methodNotAllowed(method, path)))
            }
            return answer()
        }
        switch path {
        case "/healthz":
            return only(.GET) { .ready(status.health()) }
        case "/metrics":
            return only(.GET) { .ready(metrics(request)) }
        case "/api/v1/events":
            return only(.POST) { publish.handle(request, eventLoop: eventLoop) }
        case "/api/v1/context":
            return only(.GET) { .ready(context.handle(request)) }
        case RoomRoutes.prefix:
            return .later(rooms.handle(request, eventLoop: eventLoop))
        case "/api/v1/notifications":
            return only(.GET) { .later(notifications.handle(request, eventLoop: eventLoop)) }
        case "/ws", "/ws/chat":
            if let refusal = request.refusedUpgrade {
                return .ready(.error(refusal, headers: refusal.code == "websocket.bad_version" ? ["Sec-WebSocket-Version": "13"] : [:]))
            }
            // NIO's upgrader refused before asking us (missing key, wrong version …).
            if WebSocketHandshakeCheck.isUpgradeAttempt(request.head) {
                let problem = WebSocketHandshakeCheck.problem(request.head) ?? GatewayError(
                    code: "websocket.bad_handshake", message: "The WebSocket opening handshake is malformed (RFC 6455 §4.2.1).", status: 400)
                return .ready(.error(problem, headers: problem.code == "websocket.bad_version" ? ["Sec-WebSocket-Version": "13"] : [:]))
            }
            return .ready(.error(GatewayError(
                code: "http.upgrade_required", message: "\(path) is a WebSocket endpoint: connect with a WebSocket client.", status: 426)))
        case DevelopmentLogin.path:
            if method == .POST { return .ready(developmentLogin.login(request)) }
            return only(.GET) { .ready(developmentLogin.status()) }
        default:
            if path.hasPrefix(RoomRoutes.prefix + "/") {
                return .later(rooms.handle(request, eventLoop: eventLoop))
            }
            if let answer = offline.handle(request, eventLoop: eventLoop) { return .later(answer) }
            if path.hasPrefix(AttachmentRoutes.uploadPath + "/") {
                return only(.GET) { .later(attachments.serve(request, eventLoop: eventLoop)) }
            }
            if path.hasPrefix(AdminAPI.prefix) {
                return .later(admin.handle(request, eventLoop: eventLoop))
            }
            if path.hasPrefix(PluginQueryRoute.prefix) {
                return .later(pluginQueries.handle(request, eventLoop: eventLoop))
            }
            if let page = PageRoutes.response(for: path) {
                return only(.GET) { .ready(page) }
            }
            return .ready(.error(.notFound(path)))
        }
    }
}
