import GatewayAuth
import GatewayCore
import GatewayJSON
import NIOCore

/// POST /api/v1/events: authenticate, parse, hand to the pipeline; 202 {"id": N}.
struct PublishRoute: Sendable {
    let authenticator: Authenticator
    let pipeline: EventPipeline
    let hosts: HostPolicy

    func handle(_ request: APIRequest, eventLoop: EventLoop) -> EventLoopFuture<HTTPResponse> {
        let identity: Identity
        switch authenticator.identify(head: request.head, query: request.target.query) {
        case .success(let value): identity = value
        case .failure(let error): return eventLoop.makeSucceededFuture(.error(error))
        }
        guard identity.canPublish else { return eventLoop.makeSucceededFuture(.error(.publishForbidden)) }
        let input: JSON
        do {
            input = try request.body.readableBytesView.withContiguousStorageIfAvailable { try JSON.parse(UnsafeRawBufferPointer($0)) }
                ?? JSON.parse(Array(request.body.readableBytesView))
        } catch {
            return eventLoop.makeSucceededFuture(.error(.invalidEvent("invalid_json", "The body is not valid JSON: \(error)")))
        }
        let host: String
        switch hosts.resolve(explicit: input.view["host"].string, origin: request.head.headers.first(name: "Origin"), for: identity) {
        case .success(let value): host = value
        case .failure(let error): return eventLoop.makeSucceededFuture(.error(error))
        }
        let publisher = Publisher(id: identity.id, title: identity.title, principals: identity.principals)
        let answer = eventLoop.makePromise(of: HTTPResponse.self)
        pipeline.publish(input, from: publisher, ingress: .http, hostFallback: host) { result in
            switch result {
            case .success(let id):
                answer.succeed(.accepted(id: id))
            case .failure(let error):
                answer.succeed(.error(error))
            }
        }
        return answer.futureResult
    }
}
