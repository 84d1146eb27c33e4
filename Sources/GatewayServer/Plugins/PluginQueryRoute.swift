import GatewayAuth
import GatewayCore
import GatewayJSON
import NIOCore
import NIOHTTP1
import NIOPosix

/// GET /api/v1/plugins/<entry>/<path>: a plugin's own read-only endpoints (ABI 1.3 on_query,
/// e.g. a survey's answers and state). Any valid token; the plugin decides what its caller may
/// see. The plugin runs on the blocking pool (it may read its database).
struct PluginQueryRoute: Sendable {
    static let prefix = "/api/v1/plugins/"

    let authenticator: Authenticator
    let chain: ChainReference
    let pool: NIOThreadPool

    func handle(_ request: APIRequest, eventLoop: EventLoop) -> EventLoopFuture<HTTPResponse> {
        let path = request.target.path
        guard request.head.method == .GET || request.head.method == .HEAD else {
            return eventLoop.makeSucceededFuture(.error(.methodNotAllowed(request.head.method, path)))
        }
        let identity: Identity
        switch authenticator.identify(head: request.head, query: request.target.query) {
        case .success(let value): identity = value
        case .failure(let error): return eventLoop.makeSucceededFuture(.error(error))
        }
        let rest = path.dropFirst(Self.prefix.count)
        let entry = RequestTarget.percentDecode(String(rest.prefix(while: { $0 != "/" })))
        let subpath = RequestTarget.percentDecode(String(rest.drop(while: { $0 != "/" }).dropFirst()))
        let caller = JSON.object()
        caller.set("id", identity.id)
        caller.set("title", identity.title.map { JSON.string($0) } ?? .null())
        caller.set("principals", .strings(identity.principals))
        caller.set("admin", .bool(identity.isAdmin))
        let parameters = JSON.object()
        for (key, value) in request.target.query where key != "token" { parameters.set(key, value) }
        let chain = self.chain.current
        return pool.runIfActive(eventLoop: eventLoop) { () -> HTTPResponse in
            switch chain.query(entry: entry, path: subpath, caller: caller, parameters: parameters) {
            case nil, .notFound?:
                return .error(.notFound(path))
            case .answer(let body)?:
                return .json(.ok, body)
            case .refused(let error)?:
                return .error(error)
            }
        }
    }
}
