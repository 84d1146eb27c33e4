import NIOCore
import NIOHTTP1

/// Completes once per connection attempt. Only touched on the channel's event loop, so a
/// plain flag guards against completing the promise twice (timeout, error and close can race).
final class UpgradeOutcome {
    let promise: EventLoopPromise<Void>
    private(set) var isDone = false

    init(promise: EventLoopPromise<Void>) {
        self.promise = promise
    }

    func succeed() {
        guard !isDone else { return }
        isDone = true
        promise.succeed(())
    }

    func fail(_ error: Error) {
        guard !isDone else { return }
        isDone = true
        promise.fail(error)
    }
}

/// Sends the WebSocket upgrade GET once connected and turns any non-101 answer into a
/// `bench.upgrade_rejected` error. NIO's upgrade handler adds the upgrade headers on the way out.
final class UpgradeRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let uri: String
    private let headers: HTTPHeaders
    private let outcome: UpgradeOutcome

    init(uri: String, headers: HTTPHeaders, outcome: UpgradeOutcome) {
        self.uri = uri
        self.headers = headers
        self.outcome = outcome
    }

    func channelActive(context: ChannelHandlerContext) {
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: uri, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let response) = unwrapInboundIn(data), response.status != .switchingProtocols {
            outcome.fail(BenchError.upgradeRejected(status: response.status.code, uri: uri))
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        outcome.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        outcome.fail(BenchError.closedBeforeUpgrade())
        context.fireChannelInactive()
    }
}
