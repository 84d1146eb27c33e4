import GatewayAuth
import GatewayCore
import GatewayJSON
import NIOCore

/// POST /api/v1/events: authenticate, parse, hand to the pipeline; 202 {"id": N}. A JSON array
/// instead of one object is a batch (PublishRoute+Batch.swift): each event answered on its own.
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
        let origin = request.head.headers.first(name: "Origin")
        if input.view.isArray {
            return publishBatch(input, identity: identity, origin: origin, eventLoop: eventLoop)
        }
        let answer = eventLoop.makePromise(of: HTTPResponse.self)
        publish(input, identity: identity, origin: origin) { result in
            switch result {
            case .success(let id): answer.succeed(.accepted(id: id))
            case .failure(let error): answer.succeed(.error(error))
            }
        }
        return answer.futureResult
    }

    /// One event: its host checked, then the pipeline. `completion` runs once, on this thread or
    /// on a blocking-work thread (see EventPipeline.publish).
    func publish(_ input: JSON, identity: Identity, origin: String?,
                 completion: @escaping @Sendable (Result<Int64, GatewayError>) -> Void) {
        let host: String
        switch hosts.resolve(explicit: input.view["host"].string, origin: origin, for: identity) {
        case .success(let value): host = value
        case .failure(let error): return completion(.failure(error))
        }
        let publisher = Publisher(id: identity.id, title: identity.title, principals: identity.principals)
        pipeline.publish(input, from: publisher, ingress: .http, hostFallback: host, completion: completion)
    }
}
