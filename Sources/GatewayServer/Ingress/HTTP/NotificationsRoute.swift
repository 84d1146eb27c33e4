import GatewayAuth
import GatewayCore
import GatewayJSON
import NIOCore
import NIOPosix

/// GET /api/v1/notifications (pyams_chat's get_notifications): the caller's history, newest
/// first, without what it sent, each event as RecipientView decides for the caller.
/// `since` is an ISO 8601 timestamp or an event id.
struct NotificationsRoute: Sendable {
    let authenticator: Authenticator
    let engine: any EventEngine
    let chain: ChainReference
    let pool: NIOThreadPool
    let hosts: HostPolicy
    /// [history] per_recipient.
    let limit: Int

    func handle(_ request: APIRequest, eventLoop: EventLoop) -> EventLoopFuture<HTTPResponse> {
        let identity: Identity
        switch authenticator.identify(head: request.head, query: request.target.query) {
        case .success(let value): identity = value
        case .failure(let error): return eventLoop.makeSucceededFuture(.error(error))
        }
        let since = request.target.query["since"]
        if let since, !since.isEmpty, Int64(since) == nil, !ISOTimestamp.isValid(since) {
            return eventLoop.makeSucceededFuture(.error(GatewayError(
                code: "request.bad_since", message: "'since' must be an ISO 8601 timestamp or an event id.", status: 400)))
        }
        let host: String
        switch hosts.resolve(explicit: request.target.query["host"], origin: request.head.headers.first(name: "Origin"), for: identity) {
        case .success(let value): host = value
        case .failure(let error): return eventLoop.makeSucceededFuture(.error(error))
        }
        let reader = Recipient(id: identity.id, principals: identity.principals, host: host)
        let engine = self.engine, limit = self.limit, chain = self.chain.current
        return pool.runIfActive(eventLoop: eventLoop) { () -> HTTPResponse in
            let events: [RecordedEvent]
            do throws(GatewayError) {
                if let since, let sinceId = Int64(since) {
                    events = try engine.events(after: sinceId, for: reader, limit: limit).reversed()
                } else {
                    events = try engine.recentEvents(for: reader, sinceTimestamp: (since?.isEmpty ?? true) ? nil : since,
                                                     limit: limit)
                }
            } catch {
                return .error(error)
            }
            let list = JSON.array()
            for recorded in events {
                if let document = RecipientView.document(of: recorded, for: reader, chain: chain) { list.append(document) }
            }
            let body = JSON.object()
            body.set("timestamp", ISOTimestamp.now())
            body.set("notifications", list)
            return .json(.ok, body)
        }
    }
}
