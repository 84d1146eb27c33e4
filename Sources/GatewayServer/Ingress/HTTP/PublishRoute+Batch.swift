import GatewayAuth
import GatewayCore
import GatewayJSON
import NIOCore
import NIOHTTP1

/// POST /api/v1/events with a JSON array: several events in one request (the shape of
/// Centrifugo's batch API). Each event goes through the pipeline exactly as if published alone,
/// in the array's order (the next starts when the previous one is answered), and gets its own
/// answer at its own index:
///
///     200 {"results": [{"status": 202, "id": 41}, {"status": 400, "error": {"code", "message"}}, …]}
///
/// One refused event does not stop the others. The request as a whole is refused only when it
/// cannot be read (401/403 as for one event, 400 `event.invalid_json`, 413 `http.body_too_large`),
/// is empty (400 `event.batch_empty`) or holds more than `maxBatchEvents` (413
/// `event.batch_too_large`): then no event of it was published.
extension PublishRoute {
    static let maxBatchEvents = 100

    func publishBatch(_ batch: JSON, identity: Identity, origin: String?, eventLoop: EventLoop) -> EventLoopFuture<HTTPResponse> {
        let items = batch.view.elements
        guard !items.isEmpty else {
            return eventLoop.makeSucceededFuture(.error(.invalidEvent("batch_empty", "The batch (a JSON array) holds no event.")))
        }
        guard items.count <= Self.maxBatchEvents else {
            return eventLoop.makeSucceededFuture(.error(GatewayError(
                code: "event.batch_too_large",
                message: "A batch holds at most \(Self.maxBatchEvents) events; this one holds \(items.count). Split it.", status: 413)))
        }
        var answers = eventLoop.makeSucceededFuture([Result<Int64, GatewayError>]())
        for item in items {
            // Each element keeps the parsed batch alive while the pipeline uses it.
            let event = item.retained() ?? JSON.null()
            answers = answers.flatMap { earlier in
                let promise = eventLoop.makePromise(of: Result<Int64, GatewayError>.self)
                publish(event, identity: identity, origin: origin) { promise.succeed($0) }
                return promise.futureResult.map { earlier + [$0] }
            }
        }
        return answers.map { results in
            let list = JSON.array()
            for result in results { list.append(Self.answer(result)) }
            let document = JSON.object()
            document.set("results", list)
            return .json(.ok, document)
        }
    }

    /// One event's answer in a batch: its status with its id, or with the error a lone publish gets.
    private static func answer(_ result: Result<Int64, GatewayError>) -> JSON {
        let item = JSON.object()
        switch result {
        case .success(let id):
            item.set("status", .integer(202))
            item.set("id", .integer(Int(id)))
        case .failure(let error):
            item.set("status", .integer(error.status))
            let body = JSON.object()
            body.set("code", error.code)
            body.set("message", error.message)
            item.set("error", body)
        }
        return item
    }
}
