import GatewayAuth
import GatewayCore
import GatewayJSON

/// GET /api/v1/context (pyams_chat's get_chat_context): who the caller is and which categories
/// the chain handles.
struct ContextRoute: Sendable {
    let authenticator: Authenticator
    let chain: ChainReference

    func handle(_ request: APIRequest) -> HTTPResponse {
        let identity: Identity
        switch authenticator.identify(head: request.head, query: request.target.query) {
        case .success(let value): identity = value
        case .failure(let error): return .error(error)
        }
        let principal = JSON.object()
        principal.set("id", identity.id)
        principal.set("title", identity.title.map { JSON.string($0) } ?? .null())
        principal.set("principals", .strings(identity.principals))
        let categories = chain.current.plugins.flatMap { $0.categories ?? [] }
        let context = JSON.object()
        context.set("*", .strings(categories))
        let body = JSON.object()
        body.set("status", "success")
        body.set("principal", principal)
        body.set("context", context)
        body.set("can_publish", .bool(identity.canPublish))
        return .json(.ok, body)
    }
}
