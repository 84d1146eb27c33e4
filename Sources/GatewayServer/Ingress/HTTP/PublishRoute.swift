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

    func handle(_ request: APIRequest, eventLoop: EventLoop) -> HTTPAnswer {
        let identity: Identity
        switch authenticator.identify(head: request.head, query: request.target.query) {
        case .success(let value): identity = value
        case .failure(let error): return .ready(.error(error))
        }
        guard identity.canPublish else { return .ready(.error(.publishForbidden)) }
        let input: JSON
        do {
            input = try request.body.readableBytesView.withContiguousStorageIfAvailable { try JSON.parse(UnsafeRawBufferPointer($0)) }
                ?? JSON.parse(Array(request.body.readableBytesView))
        } catch {
            return .ready(.error(.invalidEvent("invalid_json", "The body is not valid JSON: \(error)")))
        }
        let origin = request.head.headers.first(name: "Origin")
        if input.view.isArray {
            return .later(publishBatch(input, identity: identity, origin: origin, eventLoop: eventLoop))
        }
        let sender: Sender
        switch resolveSender(of: input, identity: identity, origin: origin) {
        case .success(let value): sender = value
        case .failure(let error): return .ready(.error(error))
        }
        // Routed on this thread (no step may block): answered now, no promise.
        if let result = pipeline.publishInline(input, from: sender.publisher, ingress: .http, hostFallback: sender.host) {
            return .ready(Self.response(result))
        }
        let answer = eventLoop.makePromise(of: HTTPResponse.self)
        pipeline.publish(input, from: sender.publisher, ingress: .http, hostFallback: sender.host) { result in
            answer.succeed(Self.response(result))
        }
        return .later(answer.futureResult)
    }

    private static func response(_ result: Result<Int64, GatewayError>) -> HTTPResponse {
        switch result {
        case .success(let id): return .accepted(id: id)
        case .failure(let error): return .error(error)
        }
    }

    /// One event: its host checked, then the pipeline. `completion` runs once, on this thread or
    /// on a blocking-work thread (see EventPipeline.publish).
    func publish(_ input: JSON, identity: Identity, origin: String?,
                 completion: @escaping @Sendable (Result<Int64, GatewayError>) -> Void) {
        switch resolveSender(of: input, identity: identity, origin: origin) {
        case .success(let sender):
            pipeline.publish(input, from: sender.publisher, ingress: .http, hostFallback: sender.host, completion: completion)
        case .failure(let error):
            completion(.failure(error))
        }
    }

    /// Who publishes an event, and its host: the one it names if the caller may use it, else
    /// the caller's Origin (HostPolicy).
    private struct Sender {
        let host: String
        let publisher: Publisher
    }

    private func resolveSender(of input: JSON, identity: Identity, origin: String?) -> Result<Sender, GatewayError> {
        hosts.resolve(explicit: input.view["host"].string, origin: origin, for: identity).map { host in
            Sender(host: host, publisher: Publisher(id: identity.id, title: identity.title, principals: identity.principals))
        }
    }
}
