import NIOCore

/// A route's answer: ready now (most routes, and an event the pipeline routed inline) or later.
/// A ready answer is written without a promise, its callback and the generic-metadata lookups
/// futures cost: on the personal-message path (one publish, one delivery) that is a measurable
/// part of the request (issue 14, bench/RESULTS.md).
enum HTTPAnswer {
    case ready(HTTPResponse)
    case later(EventLoopFuture<HTTPResponse>)

    /// The answer as a future, for a caller that chains it.
    func future(on eventLoop: EventLoop) -> EventLoopFuture<HTTPResponse> {
        switch self {
        case .ready(let response): return eventLoop.makeSucceededFuture(response)
        case .later(let future): return future
        }
    }
}
